/**
 * The embedded broker: history and fan-out inside the process, for a single
 * node started without REDIS_URL. Same contract as the Redis broker (see
 * broker.ts); idle channels and idempotency keys expire on a sweep.
 */

import type { StreamId } from '@herald/protocol'
import type { Broker, BrokerOptions, BrokerSink, HistoryRead, PublishRequest } from './broker.js'
import { ChannelHistory } from './channel-history.js'

const SWEEP_INTERVAL_MS = 60_000
const MAX_IDEMPOTENCY_KEYS = 100_000

export class MemoryBroker implements Broker {
  readonly kind = 'memory'
  /** A publish here settles in the same turn. */
  readonly publishDeadlineMs = 0
  readonly #channels = new Map<string, ChannelHistory>()
  readonly #subscribed = new Set<string>()
  /** `channel\nkey` → entry id; insertion order doubles as age order. */
  readonly #idempotency = new Map<string, { id: string; expiresAtMs: number }>()
  #sink: BrokerSink | undefined
  #sweep: NodeJS.Timeout | undefined
  #clockMs = 0
  /**
   * When this broker's history began. Positions before it came from an earlier process (a
   * tab resuming after a restart), whose history is gone: they count as trimmed, never as
   * "nothing to replay".
   */
  readonly #historySinceMs = this.#now()

  constructor(private readonly options: BrokerOptions) {}

  async start(sink: BrokerSink): Promise<void> {
    this.#sink = sink
    this.#sweep = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref()
  }

  async publish(requests: readonly PublishRequest[]): Promise<string[]> {
    const ids: string[] = []
    for (const request of requests) ids.push(this.#publishOne(request))
    return ids
  }

  #publishOne(request: PublishRequest): string {
    const now = this.#now()
    const idempotencyKey =
      request.idempotencyKey === undefined ? undefined : `${request.channelKey}\n${request.idempotencyKey}`
    if (idempotencyKey !== undefined) {
      const seen = this.#idempotency.get(idempotencyKey)
      if (seen !== undefined && seen.expiresAtMs > now) return seen.id
    }
    let history = this.#channels.get(request.channelKey)
    if (history === undefined) {
      history = new ChannelHistory(now, this.options.historyTtlSeconds * 1000, this.#historySinceMs)
      this.#channels.set(request.channelKey, history)
    }
    const entry = history.append(request.type, request.data, now, this.options.historyMaxLen)
    if (idempotencyKey !== undefined) this.#remember(idempotencyKey, entry.id, now)
    if (this.#subscribed.has(request.channelKey)) this.#sink?.deliver(request.channelKey, entry)
    return entry.id
  }

  async subscribe(channelKey: string): Promise<void> {
    this.#subscribed.add(channelKey)
  }

  async unsubscribe(channelKey: string): Promise<void> {
    this.#subscribed.delete(channelKey)
  }

  async tail(channelKey: string): Promise<string> {
    return this.#channels.get(channelKey)?.tail() ?? `${this.#now()}-0`
  }

  /** Live delivery never stops here, so the hub never catches up: every read is a resume. */
  async readAfter(channelKey: string, after: StreamId, limit: number): Promise<HistoryRead> {
    const history = this.#channels.get(channelKey)
    if (history !== undefined) return history.readAfter(after, limit)
    // No history: nothing to replay unless the position is from the future, or so old that
    // a channel of this name may have expired since, or from before this broker's history.
    const now = this.#now()
    if (after.ms > now) return { outcome: 'unknown' }
    if (after.ms < now - this.options.historyTtlSeconds * 1000 || after.ms < this.#historySinceMs) {
      return { outcome: 'trimmed' }
    }
    return { outcome: 'entries', entries: [] }
  }

  isAvailable(): boolean {
    return true
  }

  canPublish(): boolean {
    return true
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep)
    this.#sink = undefined
  }

  /** Drops idle channels and expired idempotency keys. Public for tests. */
  sweep(): void {
    const now = this.#now()
    const idleBefore = now - this.options.historyTtlSeconds * 1000
    for (const [key, history] of this.#channels) {
      if (history.lastWriteMs < idleBefore) this.#channels.delete(key)
    }
    for (const [key, seen] of this.#idempotency) {
      if (seen.expiresAtMs <= now) this.#idempotency.delete(key)
    }
  }

  #remember(key: string, id: string, now: number): void {
    this.#idempotency.delete(key)
    this.#idempotency.set(key, { id, expiresAtMs: now + this.options.idempotencyTtlSeconds * 1000 })
    if (this.#idempotency.size > MAX_IDEMPOTENCY_KEYS) {
      const oldest = this.#idempotency.keys().next()
      if (oldest.done !== true) this.#idempotency.delete(oldest.value)
    }
  }

  /** A clock that never goes backwards, so `<now>-0` tails stay below future ids. */
  #now(): number {
    this.#clockMs = Math.max(this.#clockMs, Date.now())
    return this.#clockMs
  }
}
