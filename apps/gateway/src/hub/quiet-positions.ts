/**
 * Quiet positions: keeps a live stream's position on a quiet channel resumable.
 *
 * A stream's position on a channel moves only with that channel's entries, and a channel's
 * history is dropped `HISTORY_TTL_SECONDS` after its last publish. A resume from a position
 * older than that, on a channel with no history, cannot tell "expired, nothing missed" from
 * "entries came and expired since", so it is reset as `trimmed`: every tab left open that long
 * on a quiet channel (a topic nobody published to, a user with no news) refetched for nothing.
 * A live stream knows it missed nothing, so its position moves to the channel's tail and the
 * client hears of it (`herald.position`): before the position ages out, for a channel with no
 * history, or right after the history expired, for one whose last entry is the position.
 *
 * Only a tail that no unseen entry precedes may be handed out: a position moved past an entry
 * still on its way through Pub/Sub would drop it. A channel with no history has a tail of the
 * form `<now>-0`, and a new history starts at `<now>-1`; an entry id may end in `-0` too, so a
 * tail that does is taken only when a read from just before its millisecond, made after the
 * tail was read, finds nothing: no stream there, or none made since (a publish that brought
 * the channel back while its announcement is still on its way). And only for channels that
 * were not held (an outage's catch-up reads from the positions) meanwhile.
 */

import { isAfter, parseStreamId, type StreamId } from '@herald/protocol'
import type { Logger } from 'pino'
import type { Broker, HistoryRead } from '../broker/broker.js'

/** A channel whose oldest live position is old enough to check, as the hub lists it. */
export interface QuietChannel {
  readonly key: string
  /** The newest position among the channel's live streams. */
  readonly newest: StreamId
  /** The channel's hold count when listed: an advance is dropped if it was held since. */
  readonly stamp: number
}

/** The hub, as this module sees it. */
export interface QuietChannelSource {
  /** Channels not held whose oldest live position is older than `beforeMs`. */
  quietChannels(beforeMs: number): QuietChannel[]
  /**
   * Moves each channel's live streams behind its `tail` to it, unless the channel was held since
   * listed, and tells each stream once; how many streams moved.
   */
  advanceQuiet(moves: readonly QuietMove[]): number
}

/** A quiet channel's streams to move to its tail. */
export interface QuietMove {
  readonly channel: QuietChannel
  readonly tail: StreamId
}

/** What to do with a quiet channel: move its streams to `tail`, or look again at `untilMs`. */
export type QuietDecision = { readonly advance: StreamId } | { readonly untilMs: number }

/**
 * The pure rule. `tail` is the channel's tail, and `after` what a read after `probeFrom(tail)`
 * found, read after the tail. Streams at the history's last entry wait for it to expire, `ttlMs`
 * after that entry.
 */
export function decideQuiet(
  newest: StreamId,
  tail: StreamId | undefined,
  after: HistoryRead | undefined,
  nowMs: number,
  ttlMs: number,
  tickMs: number,
): QuietDecision {
  // Unreadable (a raw XADD's id), or behind the streams (another history's positions): rare,
  // and nothing to move to; looked at again well before any position could age out.
  const later = { untilMs: nowMs + ttlMs / 8 }
  if (tail === undefined || isAfter(newest, tail)) return later
  // The streams are at the history's last entry: nothing to move to until it expires.
  if (!isAfter(tail, newest)) return { untilMs: Math.max(newest.ms + ttlMs, nowMs) + EXPIRY_MARGIN_MS }
  // An entry's id, past the streams: on its way to them. The next tick looks again.
  const next = { untilMs: nowMs + tickMs }
  if (tail.seq !== 0 || after === undefined) return next
  // Nothing from just before the tail's millisecond: no history there, so the tail precedes no
  // entry. Anything else (an entry, a history made since, a read that cannot tell) waits.
  return after.outcome === 'entries' && after.entries.length === 0 ? { advance: tail } : next
}

/** Where the read that checks a `<ms>-0` tail starts: just before its millisecond, so an entry `<ms>-0` is read too. */
export function probeFrom(tail: StreamId): StreamId {
  return { ms: Math.max(0, tail.ms - 1), seq: 0 }
}

/** Channels one tick may check at least (two Redis calls each, about 10 ms of Redis for all). */
export const MIN_CHECKS_PER_TICK = 1000

/** Past the expected expiry, for the two clocks: the gateway's, and Redis's, which made the id. */
const EXPIRY_MARGIN_MS = 1000

/** How often to look: often enough that a position whose history expired moves soon after. */
export function quietTickMs(ttlMs: number): number {
  return Math.min(Math.max(ttlMs / 16, 1000), 10_000)
}

export class QuietPositions {
  readonly tickMs: number
  readonly #ttlMs: number
  /** Per channel key, when to look again; only channels listed in the last tick are kept. */
  #notBefore = new Map<string, number>()
  #running = false

  constructor(
    historyTtlSeconds: number,
    private readonly source: QuietChannelSource,
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {
    this.#ttlMs = historyTtlSeconds * 1000
    this.tickMs = quietTickMs(this.#ttlMs)
  }

  /** One pass: checks each channel whose oldest live position is past half the TTL. Resolves when done. */
  async tick(nowMs = Date.now()): Promise<void> {
    if (this.#running || !this.broker.isAvailable()) return
    this.#running = true
    try {
      const notBefore = new Map<string, number>()
      const candidates: QuietChannel[] = []
      for (const channel of this.source.quietChannels(nowMs - this.#ttlMs / 2)) {
        const until = this.#notBefore.get(channel.key)
        if (until !== undefined && until > nowMs) notBefore.set(channel.key, until)
        else candidates.push(channel)
      }
      // Streams that opened together come due together (a fleet restarted, a TTL later): each
      // check is a Redis call, so a tick takes a share that clears them within a quarter of the
      // TTL, the rest waiting for the next ticks, rather than stall Redis with all at once.
      const budget = Math.max(MIN_CHECKS_PER_TICK, Math.ceil((candidates.length * this.tickMs) / (this.#ttlMs / 4)))
      const due = candidates.slice(0, budget)
      const decisions = await Promise.all(due.map((channel) => this.#check(channel, nowMs)))
      const moves: QuietMove[] = []
      due.forEach((channel, i) => {
        const decision = decisions[i]!
        if ('advance' in decision) moves.push({ channel, tail: decision.advance })
        else notBefore.set(channel.key, decision.untilMs)
      })
      const moved = moves.length === 0 ? 0 : this.source.advanceQuiet(moves)
      this.#notBefore = notBefore
      if (moved > 0) this.logger.debug({ streams: moved, channels: due.length }, 'moved quiet positions to their tails')
    } finally {
      this.#running = false
    }
  }

  async #check(channel: QuietChannel, nowMs: number): Promise<QuietDecision> {
    try {
      const tail = parseStreamId(await this.broker.tail(channel.key))
      // Read after the tail, on the same connection: an entry the tail could be is seen here.
      const after =
        tail !== undefined && tail.seq === 0 && isAfter(tail, channel.newest)
          ? await this.broker.readAfter(channel.key, probeFrom(tail), 1)
          : undefined
      return decideQuiet(channel.newest, tail, after, nowMs, this.#ttlMs, this.tickMs)
    } catch {
      // Redis is failing; the outage handling has this. Looked at again next tick.
      return { untilMs: nowMs }
    }
  }
}
