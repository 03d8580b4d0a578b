/**
 * The connections listening to one channel, each with the slot of that
 * channel in its own channel list. Most channels are one user's, open in one
 * tab, so the first member is held inline and a Map is made only when a
 * second joins: an idle user channel then costs one small object instead of
 * a Map and its hash table (about 0.15 KB per stream). A channel that grew
 * keeps its Map; it is dropped with the channel when the last member leaves.
 */

export class ChannelMembers<Member> {
  #only: Member | undefined
  #onlySlot = 0
  #many: Map<Member, number> | undefined

  get size(): number {
    return this.#many?.size ?? (this.#only === undefined ? 0 : 1)
  }

  set(member: Member, slot: number): void {
    if (this.#many !== undefined) {
      this.#many.set(member, slot)
    } else if (this.#only === undefined || this.#only === member) {
      this.#only = member
      this.#onlySlot = slot
    } else {
      this.#many = new Map([
        [this.#only, this.#onlySlot],
        [member, slot],
      ])
      this.#only = undefined
    }
  }

  /** Whether `member` was here. */
  delete(member: Member): boolean {
    if (this.#many !== undefined) return this.#many.delete(member)
    if (this.#only !== member) return false
    this.#only = undefined
    return true
  }

  /** Visits every member in the order they joined; the arguments are in `Map.forEach` order. */
  forEach(visit: (slot: number, member: Member) => void): void {
    if (this.#many !== undefined) this.#many.forEach(visit)
    else if (this.#only !== undefined) visit(this.#onlySlot, this.#only)
  }

  /**
   * Calls `test` on every member in the order they joined; returns how many it held for. `arg`
   * is passed through, so a caller on the hot path needs no closure for the usual one member.
   */
  count<A>(test: (member: Member, slot: number, arg: A) => boolean, arg: A): number {
    if (this.#many === undefined) return this.#only !== undefined && test(this.#only, this.#onlySlot, arg) ? 1 : 0
    let held = 0
    this.#many.forEach((slot, member) => {
      if (test(member, slot, arg)) held++
    })
    return held
  }

  /** A copy, safe to iterate while members leave. */
  list(): Member[] {
    if (this.#many !== undefined) return [...this.#many.keys()]
    return this.#only === undefined ? [] : [this.#only]
  }
}
