/**
 * The Redis broker: history in Redis Streams, announcements over sharded
 * Pub/Sub, both through Herald's Redis functions (see @herald/publisher and
 * docs/redis-contract.md). One subscriber connection per process (one per
 * master in a cluster, which sharded Pub/Sub requires), subscribed only to
 * the channels this node serves; no pattern subscriptions, so publishing
 * costs the same however many nodes there are.
 *
 * Redis drops what is published while a subscriber is disconnected. So when
 * the subscriber connection drops, the hub is told to hold live entries;
 * once it is back, this broker resubscribes every channel itself and only
 * then asks the hub to catch up from the Streams.
 */

import { randomBytes } from 'node:crypto'
import type { StreamId } from '@herald/protocol'
import {
  callHeraldFunction,
  channelKeyOfPubsub,
  createRedisClient,
  HeraldPublisher,
  loadHeraldFunctions,
  pubsubChannel,
  type RedisClient,
  type RedisTarget,
  streamKey,
} from '@herald/publisher'
import { Cluster } from 'ioredis'
import type { Logger } from 'pino'
import { parseAnnouncement } from './announcement.js'
import type { Broker, BrokerOptions, BrokerSink, HistoryEntry, HistoryRead, PublishRequest } from './broker.js'

export class RedisBroker implements Broker {
  readonly kind = 'redis'
  readonly #commands: RedisClient
  readonly #subscriber: RedisClient
  readonly #publisher: HeraldPublisher
  readonly #channels = new Set<string>()
  #sink: BrokerSink | undefined
  #subscriberWasReady = false
  #suspended = false
  /** A channel of this process's own, so the probe measures this subscriber's delivery. */
  readonly #probeChannel = `herald:{probe:${randomBytes(8).toString('hex')}}:c`
  #probeTimer: NodeJS.Timeout | undefined
  #probeDeliveredAtMs = Date.now()
  #probeOverdue = false

  constructor(
    target: RedisTarget,
    private readonly options: BrokerOptions,
    private readonly logger: Logger,
    private readonly probe: PubsubProbeOptions = { intervalMs: 5000, onLatency: () => {} },
  ) {
    // Commands fail fast while Redis is away (publishes get a clear 503, new streams are shed)
    // instead of piling up in an offline queue.
    this.#commands = createRedisClient(target, {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
    })
    this.#subscriber = createRedisClient(target, {
      autoResubscribe: false,
      enableOfflineQueue: false,
      connectionName: 'herald-subscriber',
    })
    this.#publisher = new HeraldPublisher({
      redis: this.#commands,
      historyMaxLen: options.historyMaxLen,
      historyTtlSeconds: options.historyTtlSeconds,
      idempotencyTtlSeconds: options.idempotencyTtlSeconds,
    })
  }

  async start(sink: BrokerSink): Promise<void> {
    this.#sink = sink
    this.#subscriber.on('smessage', (channel: string, message: string) => this.#onMessage(channel, message))
    if (this.#subscriber instanceof Cluster) {
      // Sharded subscribers are one connection per master; ioredis reports losing one as
      // '-node' or '-subscriber' and having resubscribed them all as 'subscribersReady'.
      this.#subscriber.on('-node', () => this.#onSubscriberLost())
      // A master handed over by CLUSTER FAILOVER stays up, so no '-node': its subscriber is just
      // replaced, and what was published while none listened must be caught up too.
      this.#subscriber.on('-subscriber', () => this.#onSubscriberLost())
      this.#subscriber.on('subscribersReady', () => this.#onSubscriberReady())
    } else {
      this.#subscriber.on('close', () => this.#onSubscriberLost())
      this.#subscriber.on('ready', () => this.#onSubscriberReady())
    }
    for (const client of [this.#commands, this.#subscriber]) {
      client.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'redis connection error'))
    }
    this.#probeTimer = setInterval(() => this.#sendProbe(), this.probe.intervalMs).unref()
    // Wait a while for Redis, but do not hang startup on it: a node that cannot reach Redis
    // yet listens, answers /healthz, fails /readyz and sheds streams until Redis is there.
    const connected = await Promise.race([
      Promise.all([whenReady(this.#commands), whenReady(this.#subscriber)]).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), STARTUP_WAIT_MS).unref()),
    ])
    if (!connected) {
      this.logger.warn('redis is not reachable yet; starting unready and retrying')
      return
    }
    await loadHeraldFunctions(this.#commands)
  }

  async publish(requests: readonly PublishRequest[]): Promise<string[]> {
    return this.#publisher.publishEncoded(requests)
  }

  async subscribe(channelKey: string): Promise<void> {
    this.#channels.add(channelKey)
    try {
      await this.#subscriber.ssubscribe(pubsubChannel(channelKey))
    } catch (error) {
      this.#channels.delete(channelKey)
      throw error
    }
  }

  async unsubscribe(channelKey: string): Promise<void> {
    this.#channels.delete(channelKey)
    if (this.#subscriber.status === 'ready') await this.#subscriber.sunsubscribe(pubsubChannel(channelKey))
  }

  async tail(channelKey: string): Promise<string> {
    return String(await callHeraldFunction(this.#commands, true, 'herald_tail', [streamKey(channelKey)], []))
  }

  async readAfter(channelKey: string, after: StreamId, limit: number): Promise<HistoryRead> {
    const reply = (await callHeraldFunction(
      this.#commands,
      true,
      'herald_read',
      [streamKey(channelKey)],
      [`${after.ms}-${after.seq}`, limit, this.options.historyTtlSeconds],
    )) as string[]
    if (reply[0] === 'trimmed' || reply[0] === 'unknown') return { outcome: reply[0] }
    const entries: HistoryEntry[] = []
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const id = reply[i]!
      const type = reply[i + 1]!
      entries.push({
        id,
        type: type === '' ? undefined : type,
        data: reply[i + 2]!,
        publishedAtMs: Number.parseInt(id, 10),
      })
    }
    return { outcome: 'entries', entries }
  }

  /**
   * Connected, subscribed, and proven to deliver: a subscriber that stays connected but
   * stops receiving (seen after failovers) fails the probe, and with it readiness.
   */
  isAvailable(): boolean {
    return (
      this.#commands.status === 'ready' && this.#subscriber.status === 'ready' && !this.#suspended && this.#probeFresh()
    )
  }

  async close(): Promise<void> {
    clearInterval(this.#probeTimer)
    this.#sink = undefined
    await Promise.all([this.#commands.quit().catch(() => undefined), this.#subscriber.quit().catch(() => undefined)])
  }

  async #subscribeProbe(): Promise<void> {
    try {
      // A cluster reports its sharded subscribers ready before the cluster itself is.
      await whenReady(this.#subscriber)
      await this.#subscriber.ssubscribe(this.#probeChannel)
      this.#probeDeliveredAtMs = Date.now()
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'probe subscribe failed; retrying on the next reconnect')
    }
  }

  #sendProbe(): void {
    if (!this.#probeOverdue && !this.#probeFresh()) {
      this.#probeOverdue = true
      this.logger.warn('pubsub probe overdue: delivery has stopped; readiness fails until it is back')
    }
    this.#commands.spublish(this.#probeChannel, String(Date.now())).catch(() => {
      // Redis is away; the probe goes stale and readiness reports it.
    })
  }

  #probeFresh(): boolean {
    return Date.now() - this.#probeDeliveredAtMs < 3 * this.probe.intervalMs
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#probeChannel) {
      this.#probeDeliveredAtMs = Date.now()
      if (this.#probeOverdue) {
        this.#probeOverdue = false
        this.logger.info('pubsub probe delivering again')
      }
      this.probe.onLatency(Math.max(0, this.#probeDeliveredAtMs - Number(message)) / 1000)
      return
    }
    const channelKey = channelKeyOfPubsub(channel)
    const entry = parseAnnouncement(message)
    if (channelKey === undefined || entry === undefined) {
      this.logger.warn({ channel }, 'ignored a malformed announcement')
      return
    }
    this.#sink?.deliver(channelKey, entry)
  }

  #onSubscriberLost(): void {
    if (!this.#subscriberWasReady || this.#suspended) return
    this.#suspended = true
    this.logger.warn({ channels: this.#channels.size }, 'redis subscriber lost; holding live delivery until it is back')
    this.#sink?.suspend()
  }

  #onSubscriberReady(): void {
    if (!this.#subscriberWasReady) {
      this.#subscriberWasReady = true
      void this.#subscribeProbe()
      return
    }
    if (!this.#suspended) return
    void this.#resubscribeAndResync()
  }

  async #resubscribeAndResync(): Promise<void> {
    try {
      // One SSUBSCRIBE per channel: in a cluster, one command's channels must share a slot.
      const channels = [...[...this.#channels].map(pubsubChannel), this.#probeChannel]
      await Promise.all(channels.map((channel) => this.#subscriber.ssubscribe(channel)))
      await whenReady(this.#commands)
      this.#suspended = false
      await this.#sink?.resync()
      this.logger.info({ channels: channels.length }, 'redis subscriber back; channels caught up from streams')
    } catch (error) {
      // The connection dropped again; its next 'ready' retries.
      this.logger.warn({ err: (error as Error).message }, 'resubscribe failed')
    }
  }
}

/** How long startup waits for Redis before going on unready. */
const STARTUP_WAIT_MS = 5_000

export interface PubsubProbeOptions {
  readonly intervalMs: number
  readonly onLatency: (seconds: number) => void
}

function whenReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => client.once('ready', () => resolve()))
}
