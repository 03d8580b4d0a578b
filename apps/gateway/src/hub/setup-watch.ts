/**
 * Streams that were accepted but are not live yet, watched together on one
 * timer. A Redis that stops answering but keeps its connections (stopped, or
 * its host stalled) would hold such a stream for as long as it lasts, without
 * `herald.ready`; once the broker is found unavailable, each is handed to
 * `turnAway`. One timer for all of them, running only while there are any,
 * so a resume storm of thousands of streams adds no timer per stream.
 */

export class SetupWatch<T> {
  readonly #watched = new Set<T>()
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly intervalMs: number,
    private readonly isBrokerAvailable: () => boolean,
    private readonly turnAway: (item: T) => void,
  ) {}

  get size(): number {
    return this.#watched.size
  }

  get timerRunning(): boolean {
    return this.#timer !== undefined
  }

  add(item: T): void {
    this.#watched.add(item)
    this.#timer ??= setInterval(() => this.check(), this.intervalMs).unref()
  }

  delete(item: T): void {
    if (!this.#watched.delete(item) || this.#watched.size > 0) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Turns every watched item away if the broker is unavailable. Public for tests. */
  check(): void {
    if (this.isBrokerAvailable()) return
    for (const item of [...this.#watched]) {
      this.delete(item)
      this.turnAway(item)
    }
  }
}
