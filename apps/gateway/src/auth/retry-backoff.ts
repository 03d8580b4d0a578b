/**
 * When a failing fetch may be tried again: not before `firstMs` after a failure, twice as
 * long after each further one in a row, never longer than `maxMs`; a success clears it. Pure,
 * with the time passed in, so the schedule is tested without clocks.
 */
export class RetryBackoff {
  #failures = 0
  #notBeforeMs = 0

  constructor(
    private readonly firstMs: number,
    private readonly maxMs: number,
  ) {}

  /** Whether a try is allowed at `nowMs`. */
  ready(nowMs: number): boolean {
    return nowMs >= this.#notBeforeMs
  }

  /** Records how a try at `nowMs` went. */
  outcome(succeeded: boolean, nowMs: number): void {
    if (succeeded) {
      this.#failures = 0
      this.#notBeforeMs = 0
      return
    }
    this.#failures += 1
    this.#notBeforeMs = nowMs + Math.min(this.maxMs, this.firstMs * 2 ** (this.#failures - 1))
  }
}
