/**
 * Comparing positions (resume tokens) channel by channel, for a leading tab
 * that a tab joins. The joining tab (opened, reloaded, or at a handover) says
 * in its hello where it stopped; if that is behind the leader on any channel,
 * the leader reopens its stream from the earlier of the two positions, and
 * every tab's position tracker drops what it already has.
 */

import { decodeResumeToken, encodeResumeToken, formatStreamId, isAfter, resumeComponent } from '@herald/protocol'

/** Whether `tab` is before `reference` on some channel both name; false when either cannot be read. */
export function isBehind(tab: string, reference: string): boolean {
  const tabPositions = decodeResumeToken(tab)
  const referencePositions = decodeResumeToken(reference)
  if (tabPositions === undefined || referencePositions === undefined) return false
  for (const [tag, position] of tabPositions) {
    const other = referencePositions.get(tag)
    if (other !== undefined && isAfter(other, position)) return true
  }
  return false
}

/**
 * The earlier of two positions, channel by channel (a channel only one names keeps its
 * position); `b` when `a` cannot be read, and `a` when `b` cannot.
 */
export function earliestPosition(a: string, b: string): string {
  const aPositions = decodeResumeToken(a)
  const bPositions = decodeResumeToken(b)
  if (aPositions === undefined) return b
  if (bPositions === undefined) return a
  const earliest = new Map(bPositions)
  for (const [tag, position] of aPositions) {
    const other = earliest.get(tag)
    if (other === undefined || isAfter(other, position)) earliest.set(tag, position)
  }
  return encodeResumeToken(Array.from(earliest, ([tag, position]) => resumeComponent(tag, formatStreamId(position))))
}
