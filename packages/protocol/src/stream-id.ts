/**
 * Stream ids: the `<ms>-<seq>` positions that both brokers assign to history
 * entries. The embedded broker mints them the way Redis does, so a position
 * means the same thing whichever broker a node runs on.
 */

/** A parsed stream id. Both parts are safe integers. */
export interface StreamId {
  readonly ms: number
  readonly seq: number
}

/** The position before any entry: "nothing seen yet". */
export const STREAM_START: StreamId = Object.freeze({ ms: 0, seq: 0 })

const STREAM_ID = /^(\d{1,16})-(\d{1,16})$/

/** Parses `<ms>-<seq>`; returns `undefined` for anything else. */
export function parseStreamId(text: string): StreamId | undefined {
  const match = STREAM_ID.exec(text)
  if (match === null) return undefined
  const ms = Number(match[1])
  const seq = Number(match[2])
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) return undefined
  return { ms, seq }
}

export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.seq}`
}

/** Negative, zero or positive, like `Array.prototype.sort` wants. */
export function compareStreamIds(a: StreamId, b: StreamId): number {
  return a.ms === b.ms ? a.seq - b.seq : a.ms - b.ms
}

/** Whether `a` comes strictly after `b`. The hot path's de-duplication check. */
export function isAfter(a: StreamId, b: StreamId): boolean {
  return a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq)
}

/**
 * The next id for a stream whose last id is `last`, at clock time `nowMs`.
 * Like Redis: time-based while the clock moves forward, sequence-based when
 * it stands still or goes backwards, so ids stay strictly increasing.
 */
export function nextStreamId(last: StreamId, nowMs: number): StreamId {
  return nowMs > last.ms ? { ms: nowMs, seq: 0 } : { ms: last.ms, seq: last.seq + 1 }
}
