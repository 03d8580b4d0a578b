/**
 * A token bucket for the rate of new connections: it refills continuously at
 * `ratePerSecond` up to `burst`. It smooths reconnect storms (a fleet of
 * browsers coming back after a deploy) into a rate the node can serve;
 * those over the rate are shed and retry later. Pure: the clock is passed in.
 */

export class TokenBucket {
  #tokens: number
  #updatedMs: number

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.#tokens = burst
    this.#updatedMs = nowMs
  }

  tryTake(nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.#updatedMs)
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1000)
    this.#updatedMs = nowMs
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
