/**
 * The hub's fan-out, spread over turns of the event loop: live delivery and a resync's
 * catch-ups, which write what a hold kept back to every listening stream. Catch-up reads answer
 * together: written as they came, a node with 3,000 streams on 20 topics each, cut off from Redis
 * for 3 s while publishing went on, held its event loop up to 2.2 s (median of 5 rounds) once it
 * was back, with `/healthz`, accepts and every other stream waiting; spread over turns, 0.16 s (a
 * probe of 2026-12-07). Live announcements come many to a socket read, and held the loop for
 * 14 s at a time on a node behind (live-backlog.ts). All of them spend from one budget per turn,
 * and once it is spent wait for the next turn, after the I/O that came meanwhile, which then runs
 * first: the fan-out itself ends later. An entry goes to all its listeners in one turn, so a
 * channel with more listeners than the budget writes one entry a turn.
 *
 * Work waits in line: a turn runs what was queued first, and work queued after a turn began waits
 * behind everything already waiting. Woken together instead, the catch-up that wrote first also
 * waited first, and wrote first in every later turn: a topic whose entries each take the turn's
 * budget kept the channels behind it waiting until it was done (a probe of 2026-12-07).
 */

/** About 20 ms of writes at the 10 µs one socket write costs on loopback. */
export const WRITES_PER_TURN = 2048

export class TurnBudget {
  #spent = 0
  #turnScheduled = false
  /** Whether this is the budget's own turn, started from the check phase. */
  #inTurn = false
  /** Queued work, first come first served: each runs its work and settles its caller's promise. */
  #waiting: Array<() => void> = []

  constructor(private readonly perTurn: number = WRITES_PER_TURN) {}

  /** Whether this turn's budget has room for more. */
  get hasRoom(): boolean {
    return this.#spent < this.perTurn
  }

  /** Whether work taken now would run at once: nothing waits, and this turn has room. */
  get runsNow(): boolean {
    return this.#waiting.length === 0 && this.hasRoom
  }

  /**
   * Runs `work` in a turn with room, once the work queued before it has run: now, if nothing
   * waits and this turn has room. `work` spends what it does, and may go on while {@link hasRoom}.
   * Resolves to what it returns; rejects with what it throws, and the line goes on.
   */
  take<T>(work: () => T): Promise<T> {
    if (this.runsNow) {
      try {
        return Promise.resolve(work())
      } catch (error) {
        return Promise.reject(error)
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push(() => {
        try {
          resolve(work())
        } catch (error) {
          reject(error)
        }
      })
      this.#scheduleTurn()
    })
  }

  /** Records `writes` done in this turn. */
  spend(writes: number): void {
    this.#spent += writes
    this.#scheduleTurn()
  }

  #scheduleTurn(): void {
    if (this.#turnScheduled) return
    this.#turnScheduled = true
    // From a turn of its own (the check phase), an immediate runs in the next iteration of the
    // loop, after its poll for I/O. From anywhere else, such as a Redis read's callback in the
    // poll phase, it would run in this iteration's check phase, with no poll between: the
    // budget would start afresh right after it was spent, and twice the budget would be
    // written back to back. One more hop puts a poll between. Work spent from a timer hops
    // once more than it needs: an iteration, not a budget.
    setImmediate(this.#inTurn ? this.#startTurn : this.#startTurnAfterPoll)
  }

  readonly #startTurnAfterPoll = (): void => {
    setImmediate(this.#startTurn)
  }

  readonly #startTurn = (): void => {
    this.#turnScheduled = false
    this.#spent = 0
    this.#inTurn = true
    // Queued work never throws: each settles its caller's promise with what its work threw.
    const waiting = this.#waiting
    let next = 0
    while (next < waiting.length && this.hasRoom) waiting[next++]!()
    if (next > 0) this.#waiting = waiting.slice(next)
    if (this.#waiting.length > 0) this.#scheduleTurn()
    this.#inTurn = false
  }
}
