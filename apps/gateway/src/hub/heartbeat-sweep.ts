/**
 * Heartbeats for quiet streams, spread evenly over time. A sweep walks the
 * streams a few at a time on a short tick, so no tick holds the event loop
 * for long: writing to every stream at once takes about 100 ms at 10k
 * streams, and every live event that arrives meanwhile waits that long.
 *
 * Each pass visits every stream once and takes half the heartbeat interval.
 * A stream that wrote anything since its last visit only has that noted; one
 * that stayed quiet gets a heartbeat. So a quiet stream hears a heartbeat
 * once per interval, no stream is silent for much longer than the interval, and
 * a stream that carries notifications gets none: a heartbeat only keeps
 * proxies from timing out an idle stream. A tick's share follows the time that
 * actually passed since the last one, not the timer's nominal period: timers
 * fire late (about 1 ms a tick here, idle), and counting ticks stretched every
 * interval by up to 8 %.
 */

/** How often the sweep runs. Short enough that each run writes only a few streams. */
export const HEARTBEAT_TICK_MS = 50
/** The most ticks' share one tick makes up for. */
const MAX_TICKS_OWED = 4

export interface Heartbeating {
  /** Writes a heartbeat unless the stream wrote since the last call. */
  heartbeatIfQuiet(): void
}

export class HeartbeatSweep {
  readonly tickMs: number
  readonly #ticksPerPass: number
  #cursor: Iterator<Heartbeating> | undefined
  /**
   * Visits owed, carried between ticks. A tick's share is `streams / ticksPerPass`, which is
   * below one stream when there are fewer streams than ticks: rounding each tick's share up
   * instead would finish a pass of 3 streams in 3 ticks and heartbeat a quiet stream every
   * 100 ms rather than once per interval.
   */
  #owed = 0

  /** `streams` is read live: the sweep sees streams that join or leave between and during passes. */
  constructor(
    intervalMs: number,
    private readonly streams: ReadonlySet<Heartbeating>,
  ) {
    const passMs = intervalMs / 2
    this.tickMs = Math.min(HEARTBEAT_TICK_MS, passMs)
    this.#ticksPerPass = Math.max(1, Math.round(passMs / this.tickMs))
  }

  /**
   * One tick's share of the pass, `elapsedMs` after the last: the streams in order from where
   * the last tick stopped.
   */
  tick(elapsedMs = this.tickMs): void {
    if (this.streams.size === 0) {
      // A Set's iterator keeps the table it started on, with every stream that has left since,
      // until it moves on: left mid-pass on a node that went idle, it kept a thousand closed
      // streams (their sockets and requests) alive in a probe.
      this.#cursor = undefined
      return
    }
    // After a stall (a blocked event loop, a paused process), at most four ticks' share: what
    // the whole stall owed, at once, would be the burst of writes the sweep exists to avoid.
    const counted = Math.min(elapsedMs, MAX_TICKS_OWED * this.tickMs)
    this.#owed += (this.streams.size * counted) / (this.tickMs * this.#ticksPerPass)
    let budget = Math.floor(this.#owed)
    this.#owed -= budget
    let restarted = false
    while (budget > 0) {
      this.#cursor ??= this.streams.values()
      const next = this.#cursor.next()
      if (next.done) {
        this.#cursor = undefined
        // A pass that ends mid-tick goes on with the next, but never laps itself in one tick.
        if (restarted) return
        restarted = true
        continue
      }
      next.value.heartbeatIfQuiet()
      budget--
    }
  }
}
