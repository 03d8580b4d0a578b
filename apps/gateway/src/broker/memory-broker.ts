/**
 * The embedded broker: history and fan-out inside the process, for a single
 * node started without REDIS_URL. Same contract as the Redis broker (see
 * broker.ts). A channel idle for longer than the history TTL is expired the
 * moment it is touched, as Redis expires its stream; the sweep only frees the
 * memory of channels no one touches again. Idempotency keys expire the same way.
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
  readonly #clock: () => number
  /**
   * When this broker's history began. Positions before it came from an earlier process (a
   * tab resuming after a restart), whose history is gone: they count as trimmed, never as
   * "nothing to replay".
   */
  readonly #historySinceMs: number

  /** `clock` gives the time in ms: `Date.now()`, read on each call, unless a test moves time itself. */
  constructor(
    private readonly options: BrokerOptions,
    clock: () => number = () => Date.now(),
  ) {
    this.#clock = clock
    this.#historySinceMs = this.#now()
  }

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
    let history = this.#history(request.channelKey, now)
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
    const now = this.#now()
    return this.#history(channelKey, now)?.tail() ?? `${now}-0`
  }

  /** Live delivery never stops here, so the hub never catches up: every read is a resume. */
  async readAfter(channelKey: string, after: StreamId, limit: number, maxBytes?: number): Promise<HistoryRead> {
    const now = this.#now()
    const history = this.#history(channelKey, now)
    if (history !== undefined) return history.readAfter(after, limit, maxBytes)
    // No history: nothing to replay unless the position is from the future, or so old that
    // a channel of this name may have expired since, or from before this broker's history.
    if (after.ms > now) return { outcome: 'unknown' }
    if (after.ms < now - this.options.historyTtlSeconds * 1000 || after.ms < this.#historySinceMs) {
      return { outcome: 'trimmed' }
    }
    // A tail handed out for a channel with no history is <ms>-0: a sequence above 0 is an entry's,
    // of a history that is gone within the TTL (herald_read's rule).
    if (after.seq > 0) return { outcome: 'unknown' }
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

  /**
   * Drops idle channels and expired idempotency keys, to free their memory: what they hold is
   * already gone for every caller, since each is expired when touched. Public for tests.
   */
  sweep(): void {
    const now = this.#now()
    for (const [key, history] of this.#channels) {
      if (this.#isExpired(history, now)) this.#channels.delete(key)
    }
    for (const [key, seen] of this.#idempotency) {
      if (seen.expiresAtMs <= now) this.#idempotency.delete(key)
    }
  }

  /**
   * The channel's history, or undefined when it has none: never written, or idle for longer than
   * the TTL, which drops it here as the sweep would. Redis expires its stream the same way, so a
   * channel past its TTL is gone when next touched, not up to a sweep interval later.
   */
  #history(channelKey: string, now: number): ChannelHistory | undefined {
    const history = this.#channels.get(channelKey)
    if (history === undefined || !this.#isExpired(history, now)) return history
    this.#channels.delete(channelKey)
    return undefined
  }

  /** Idle for longer than the TTL; Redis likewise keeps a key through its last millisecond. */
  #isExpired(history: ChannelHistory, now: number): boolean {
    return history.lastWriteMs < now - this.options.historyTtlSeconds * 1000
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
    this.#clockMs = Math.max(this.#clockMs, this.#clock())
    return this.#clockMs
  }
}
