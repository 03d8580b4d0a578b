/**
 * Closing each stream by the time its token stops being accepted. Most deadlines are
 * minutes away: they wait in the wheel, which a sweep empties once a period, taking what
 * falls due before the next sweep. A deadline closer than that when the stream opens (a
 * token with a second or two left) could fall between two sweeps and be late, so it gets a
 * timer of its own; few streams ever do.
 */

import { type Expiring, ExpiryWheel } from './expiry-wheel.js'

export class StreamExpiry<T extends Expiring> {
  readonly #wheel = new ExpiryWheel<T>()
  /** Streams whose deadline was too close for the wheel, with their timers. */
  readonly #soon = new Map<T, NodeJS.Timeout>()
  readonly #sweep: NodeJS.Timeout

  constructor(
    private readonly sweepMs: number,
    private readonly expire: (item: T) => void,
  ) {
    this.#sweep = setInterval(() => this.sweep(Date.now()), sweepMs).unref()
  }

  get size(): number {
    return this.#wheel.size + this.#soon.size
  }

  add(item: T, deadlineMs: number, nowMs: number = Date.now()): void {
    this.remove(item)
    // A sweep comes within one period, and takes anything due before the next: a deadline
    // at least a period away is never late (two, for timers that fire late under load).
    if (deadlineMs - nowMs >= 2 * this.sweepMs) {
      this.#wheel.add(item, deadlineMs)
      return
    }
    const timer = setTimeout(
      () => {
        this.#soon.delete(item)
        this.expire(item)
      },
      Math.max(0, deadlineMs - nowMs),
    ).unref()
    this.#soon.set(item, timer)
  }

  remove(item: T): void {
    this.#wheel.remove(item)
    const timer = this.#soon.get(item)
    if (timer === undefined) return
    clearTimeout(timer)
    this.#soon.delete(item)
  }

  /** Expires everything due before the next sweep. Public for tests. */
  sweep(nowMs: number): void {
    for (const item of this.#wheel.takeDue(nowMs + this.sweepMs)) this.expire(item)
  }

  close(): void {
    clearInterval(this.#sweep)
    for (const timer of this.#soon.values()) clearTimeout(timer)
    this.#soon.clear()
  }
}
