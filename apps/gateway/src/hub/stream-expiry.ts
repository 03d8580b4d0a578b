/**
 * Closing each stream when its token stops being accepted, to the millisecond, without a
 * timer per stream. Deadlines wait in the wheel, which a sweep visits once a period; what
 * falls due before the next sweep then gets a timer of its own for its exact deadline, as
 * does a deadline that is that close when the stream opens. So a stream is neither closed
 * early (before a client that refreshes its token ahead of expiry has done so) nor late (a
 * token no longer accepted still receiving), and only the streams of the next few seconds
 * hold a timer.
 */

import { type Expiring, ExpiryWheel } from './expiry-wheel.js'

export class StreamExpiry<T extends Expiring> {
  readonly #wheel = new ExpiryWheel<T>()
  /** Streams due before the next sweep or two, with their timers. */
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
    // A sweep comes within one period and takes what falls due before the next one: a deadline
    // two periods away is found in time (one period of margin for timers that fire late).
    if (deadlineMs - nowMs >= 2 * this.sweepMs) this.#wheel.add(item, deadlineMs)
    else this.#schedule(item, deadlineMs, nowMs)
  }

  remove(item: T): void {
    this.#wheel.remove(item)
    const timer = this.#soon.get(item)
    if (timer === undefined) return
    clearTimeout(timer)
    this.#soon.delete(item)
  }

  /** Gives everything due before the next sweep its own timer. Public for tests. */
  sweep(nowMs: number): void {
    this.#wheel.takeDue(nowMs + 2 * this.sweepMs, (item, deadlineMs) => this.#schedule(item, deadlineMs, nowMs))
  }

  close(): void {
    clearInterval(this.#sweep)
    for (const timer of this.#soon.values()) clearTimeout(timer)
    this.#soon.clear()
  }

  #schedule(item: T, deadlineMs: number, nowMs: number): void {
    const timer = setTimeout(
      () => {
        this.#soon.delete(item)
        this.expire(item)
      },
      Math.max(0, deadlineMs - nowMs),
    ).unref()
    this.#soon.set(item, timer)
  }
}
