/**
 * Exactly-once delivery across reconnects and tab handovers. Every event id
 * is a resume token carrying, per channel, the position of the last entry
 * delivered from it. An event is new when it moves some channel past the
 * furthest position seen so far; a replay of something already shown
 * (another tab resumed from an older position) moves none. Memory is one
 * position per channel, however long the page lives.
 */

import { decodeResumeToken, isAfter, type StreamId } from '@herald/protocol'

export class PositionTracker {
  #seen = new Map<string, StreamId>()

  /** Records the positions in `id`; true when it advances at least one channel, i.e. the event is new. */
  advance(id: string): boolean {
    const positions = decodeResumeToken(id)
    // An id we cannot read cannot be compared: deliver rather than drop.
    if (positions === undefined) return true
    let advanced = false
    for (const [tag, position] of positions) {
      const seen = this.#seen.get(tag)
      if (seen === undefined || isAfter(position, seen)) {
        this.#seen.set(tag, position)
        advanced = true
      }
    }
    return advanced
  }

  /** After `herald.reset` positions may restart lower (history lost or moved): start again from `id`. */
  reset(id: string): void {
    this.#seen = new Map()
    if (id !== '') this.advance(id)
  }
}
