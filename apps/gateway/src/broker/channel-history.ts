/**
 * One channel's bounded history for the embedded broker. Pure: the clock is
 * passed in, so trimming, expiry floors and reads are unit-testable. Mirrors
 * what Redis Streams give the Redis broker: approximate MAXLEN trimming and a
 * record of the highest deleted id.
 */

import { formatStreamId, isAfter, nextStreamId, type StreamId } from '@herald/protocol'
import type { HistoryEntry, HistoryRead } from './broker.js'

interface StoredEntry {
  readonly position: StreamId
  readonly entry: HistoryEntry
}

export class ChannelHistory {
  readonly #entries: StoredEntry[] = []
  #last: StreamId
  #maxDeleted: StreamId
  #lastWriteMs: number

  /**
   * A new channel at `nowMs`. Its first id is at least `<now>-1`, above any
   * `<now>-0` tail handed out before it existed. Anything older than the idle
   * TTL counts as deleted: a channel of that name may have existed and expired.
   * So does anything older than `historySinceMs`, when the broker's history
   * began: a channel of that name may have had entries the broker has lost.
   */
  constructor(nowMs: number, ttlMs: number, historySinceMs = 0) {
    this.#last = { ms: nowMs, seq: 0 }
    this.#maxDeleted = { ms: Math.max(0, nowMs - ttlMs, Math.min(historySinceMs, nowMs)), seq: 0 }
    this.#lastWriteMs = nowMs
  }

  get lastWriteMs(): number {
    return this.#lastWriteMs
  }

  get length(): number {
    return this.#entries.length
  }

  tail(): string {
    return formatStreamId(this.#last)
  }

  append(type: string | undefined, data: string, nowMs: number, maxLen: number): HistoryEntry {
    const position = nextStreamId(this.#last, nowMs)
    const entry: HistoryEntry = { id: formatStreamId(position), type, data, publishedAtMs: nowMs }
    this.#entries.push({ position, entry })
    this.#last = position
    this.#lastWriteMs = nowMs
    // Trim in batches, so appends stay O(1) amortised; the same rule as herald_publish in Redis.
    const slack = Math.min(Math.max(1, Math.floor(maxLen / 8)), 1000)
    if (this.#entries.length > maxLen + slack) {
      const removed = this.#entries.splice(0, this.#entries.length - maxLen)
      this.#maxDeleted = removed[removed.length - 1]!.position
    }
    return entry
  }

  /** As the broker's `readAfter`, with its byte bound counted in bytes of UTF-8, as Redis counts them. */
  readAfter(after: StreamId, limit: number, maxBytes = Number.POSITIVE_INFINITY): HistoryRead {
    if (isAfter(after, this.#last)) return { outcome: 'unknown' }
    if (isAfter(this.#maxDeleted, after)) return { outcome: 'trimmed' }
    const start = this.#firstIndexAfter(after)
    // Past an entry but none itself: never a position of this history (the rule herald_read
    // keeps, where a failover can hand a client ids of a history the new master never had).
    // Nor is one before the first entry with a sequence above 0: only a tail handed out before
    // the channel existed (<ms>-0) comes before a history that starts at <ms>-1, and the newest
    // deleted entry, after which nothing is gone (an older one is trimmed, above).
    const before = this.#entries[start - 1]?.position
    const foreign = before === undefined ? after.seq > 0 && isAfter(after, this.#maxDeleted) : isAfter(after, before)
    if (foreign) return { outcome: 'unknown' }
    const end = Math.min(this.#entries.length, start + limit)
    const entries: HistoryEntry[] = []
    let bytes = 0
    for (let index = start; index < end; index++) {
      const { entry } = this.#entries[index]!
      bytes += Buffer.byteLength(entry.data)
      if (bytes > maxBytes && entries.length > 0) return { outcome: 'entries', entries, truncated: true }
      entries.push(entry)
    }
    return { outcome: 'entries', entries }
  }

  #firstIndexAfter(after: StreamId): number {
    let low = 0
    let high = this.#entries.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (isAfter(this.#entries[mid]!.position, after)) high = mid
      else low = mid + 1
    }
    return low
  }
}
