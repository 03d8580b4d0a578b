/**
 * Work a resync spreads over turns of the event loop. Its catch-ups write what a hold kept back
 * to every listening stream, and their reads answer together: written as they came, a node with
 * 3,000 streams on 20 topics each, cut off from Redis for 3 s while publishing went on, held its
 * event loop up to 2.2 s (median of 5 rounds) once it was back, with `/healthz`, accepts and every
 * other stream waiting; spread over turns, 0.16 s (a probe of 2026-12-07). Each catch-up spends
 * from one budget per turn, shared by all of them, and once it is spent waits for the next turn,
 * after the I/O that came meanwhile, which then runs first: the catch-up itself ends later. An
 * entry goes to all its listeners in one turn, so a channel with more listeners than the budget
 * writes one entry a turn, as live delivery would. Live delivery does not spend from it: its
 * channel is held while its catch-up runs, so the wait reorders nothing.
 */

/** About 20 ms of writes at the 10 µs one socket write costs on loopback. */
export const CATCH_UP_WRITES_PER_TURN = 2048

export class TurnBudget {
  #spent = 0
  /** Settles at the end of the current turn (setImmediate), once anything was spent in it. */
  #turnEnd: Promise<void> | undefined

  constructor(private readonly perTurn: number = CATCH_UP_WRITES_PER_TURN) {}

  /**
   * The start of the next turn, to await before more work once this turn's budget is spent;
   * undefined while it has room. Check it again after each wait, and spend in the same
   * synchronous step as the last check (`while (budget.nextTurn) await budget.nextTurn`):
   * several waiters wake in the same turn, and the first may spend it all.
   */
  get nextTurn(): Promise<void> | undefined {
    return this.#spent >= this.perTurn ? this.#turnEnd : undefined
  }

  /** Records `writes` done in this turn. */
  spend(writes: number): void {
    this.#turnEnd ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#spent = 0
        this.#turnEnd = undefined
        resolve()
      }),
    )
    this.#spent += writes
  }
}
