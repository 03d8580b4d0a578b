/**
 * The hub: which local connections listen to which channel, and the fan-out
 * from the broker to them. The data path is one way: broker → hub →
 * connection → socket. Broker subscriptions are reference-counted: the first
 * local listener of a channel subscribes, the last one to leave unsubscribes.
 */

import { type Channel, parseStreamId } from '@herald/protocol'
import type { Logger } from 'pino'
import type { Broker, BrokerSink, HistoryEntry } from '../broker/broker.js'
import type { Metrics } from '../metrics/metrics.js'
import { FramedEntry } from './framed-entry.js'
import type { SseConnection } from './sse-connection.js'

interface ChannelListeners {
  readonly channel: Channel
  /** Each listening connection, with the slot of this channel in its channel list. */
  readonly members: Map<SseConnection, number>
  /** Settles when the broker subscription is in place. */
  readonly subscribed: Promise<void>
}

export class Hub implements BrokerSink {
  readonly #channels = new Map<string, ChannelListeners>()
  readonly #connections = new Set<SseConnection>()

  constructor(
    private readonly broker: Broker,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  get connectionCount(): number {
    return this.#connections.size
  }

  get channelCount(): number {
    return this.#channels.size
  }

  /** Registers the connection on all its channels; resolves once the broker delivers them all. */
  async attach(connection: SseConnection): Promise<void> {
    this.#connections.add(connection)
    const ready = connection.channels.map((channel, slot) => {
      let listeners = this.#channels.get(channel.key)
      if (listeners === undefined) {
        const subscribed = this.broker.subscribe(channel.key)
        listeners = { channel, members: new Map(), subscribed }
        this.#channels.set(channel.key, listeners)
        // A failed subscription fails every waiting attach; the next attach tries again.
        subscribed.catch(() => {
          if (this.#channels.get(channel.key) === listeners) this.#channels.delete(channel.key)
        })
      }
      listeners.members.set(connection, slot)
      return listeners.subscribed
    })
    await Promise.all(ready)
  }

  detach(connection: SseConnection): void {
    if (!this.#connections.delete(connection)) return
    for (const channel of connection.channels) {
      const listeners = this.#channels.get(channel.key)
      if (listeners === undefined || !listeners.members.delete(connection) || listeners.members.size > 0) continue
      this.#channels.delete(channel.key)
      this.broker.unsubscribe(channel.key).catch((error: unknown) => {
        this.logger.warn({ err: error, channel: channel.kind }, 'unsubscribe failed')
      })
    }
  }

  /** Fan-out of one broker entry: framed once, written to every local listener. */
  deliver(channelKey: string, entry: HistoryEntry): void {
    const listeners = this.#channels.get(channelKey)
    if (listeners === undefined || listeners.members.size === 0) return
    const position = parseStreamId(entry.id)
    if (position === undefined) {
      this.logger.warn({ entryId: entry.id }, 'dropped a broker entry with a malformed id')
      return
    }
    const framed = new FramedEntry(listeners.channel, entry, position)
    let delivered = 0
    listeners.members.forEach((slot, connection) => {
      if (connection.deliver(slot, framed)) delivered++
    })
    this.metrics.recordDelivery(delivered, entry.publishedAtMs)
  }

  forEachConnection(visit: (connection: SseConnection) => void): void {
    this.#connections.forEach(visit)
  }
}
