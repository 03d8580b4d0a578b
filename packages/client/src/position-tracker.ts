/**
 * Exactly-once delivery across reconnects and tab handovers. Every event id
 * is a resume token carrying, per channel, the position of the last entry
 * delivered from it. An event is new when it moves some channel past the
 * furthest position seen so far; a replay of something already shown
 * (another tab resumed from an older position) moves none. Memory is one
 * position per channel, however long the page lives.
 */

import { decodeResumeToken, isAfter, type StreamId } from '@herald/protocol'

/**
 * What an event's id says of it: `new` when it moves some channel past what was seen, `seen`
 * when it moves none, `unreadable` when it is no resume token (an empty id, a broken proxy's).
 */
export type Observation = 'new' | 'seen' | 'unreadable'

export class PositionTracker {
  #seen = new Map<string, StreamId>()

  /** Records the positions in `id`, decoded once, and says what the event is. */
  observe(id: string): Observation {
    const positions = decodeResumeToken(id)
    if (positions === undefined) return 'unreadable'
    let advanced = false
    for (const [tag, position] of positions) {
      const seen = this.#seen.get(tag)
      if (seen === undefined || isAfter(position, seen)) {
        this.#seen.set(tag, position)
        advanced = true
      }
    }
    return advanced ? 'new' : 'seen'
  }

  /**
   * True when `id` advances at least one channel, i.e. the event is new. An id that cannot be
   * read cannot be compared: delivered rather than dropped.
   */
  advance(id: string): boolean {
    return this.observe(id) !== 'seen'
  }

  /** After `herald.reset` positions may restart lower (history lost or moved): start again from `id`. */
  reset(id: string): Observation {
    this.#seen = new Map()
    return this.observe(id)
  }
}
