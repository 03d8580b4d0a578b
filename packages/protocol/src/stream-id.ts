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

/** Digits each part may have: `<ms>-<seq>` as Redis writes them, 16 at the most. */
const MAX_DIGITS = 16

/**
 * Parses `<ms>-<seq>`; returns `undefined` for anything else. Every live delivery parses its
 * entry's id, so this scans the characters once rather than running a regular expression,
 * which allocated a match array and two strings per message.
 */
export function parseStreamId(text: string): StreamId | undefined {
  const dash = text.indexOf('-')
  const ms = digitsValue(text, 0, dash)
  const seq = digitsValue(text, dash + 1, text.length)
  if (ms === undefined || seq === undefined) return undefined
  return { ms, seq }
}

/** The decimal number `text[start, end)` spells: 1 to 16 ASCII digits and a safe integer, or `undefined`. */
function digitsValue(text: string, start: number, end: number): number | undefined {
  if (end - start < 1 || end - start > MAX_DIGITS) return undefined
  let value = 0
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return undefined
    value = value * 10 + digit
  }
  // Past 2^53 the sum is rounded, but never below 2^53, so nothing unsafe gets through.
  return Number.isSafeInteger(value) ? value : undefined
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
