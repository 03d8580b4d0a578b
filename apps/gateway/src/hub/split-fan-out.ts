/**
 * One live entry's fan-out to more listeners than the turn of the event loop has room for,
 * continued over turns (hub.ts, turn-budget.ts). Written whole, an entry to a topic's 10,000
 * streams is 100 ms and more of writes in one turn, with accepts, probes and the subscriber's
 * socket waiting behind it.
 *
 * It walks the channel's members live (channel-members.ts): a stream that leaves before it is
 * reached is skipped; one that joins meanwhile is visited, and drops the entry if its setup
 * already read it (sse-connection.ts keeps one position per channel).
 */

import type { ChannelMembers } from './channel-members.js'
import type { FramedEntry } from './framed-entry.js'

export class SplitFanOut<Member> {
  readonly #walk: Iterator<Member>
  /** The member to visit next: read ahead, so the call that reaches the last one knows it is done. */
  #next: IteratorResult<Member>
  /** Members visited, and those of them the entry was written to, since the last {@link takeCounts}. */
  #visited = 0
  #written = 0

  constructor(
    readonly channelKey: string,
    readonly members: ChannelMembers<Member>,
    readonly framed: FramedEntry,
  ) {
    this.#walk = members.walk()
    this.#next = this.#walk.next()
  }

  get done(): boolean {
    return this.#next.done === true
  }

  /** Visits up to `limit` more members with `deliver`, which says whether it wrote; whether any are left. */
  visit(limit: number, deliver: (member: Member, slot: number, framed: FramedEntry) => boolean): boolean {
    for (let visited = 0; visited < limit && this.#next.done !== true; visited++) {
      const member = this.#next.value
      this.#next = this.#walk.next()
      this.#visited++
      const slot = this.members.slotOf(member)
      if (slot !== undefined && deliver(member, slot, this.framed)) this.#written++
    }
    return !this.done
  }

  /** Members visited and written to since the last call, which starts the count again. */
  takeCounts(): { visited: number; written: number } {
    const counts = { visited: this.#visited, written: this.#written }
    this.#visited = 0
    this.#written = 0
    return counts
  }
}
