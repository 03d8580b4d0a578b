/**
 * A cap on how many lines of one kind are logged per window, for lines that
 * come in storms. Sheds (streams turned away: full, draining, broker or keys
 * unavailable) are expected operation, thousands a second during a reconnect
 * wave; Redis connection errors repeat as fast as a client retries (a cluster
 * client refreshes its slots about ten times a second while no node answers).
 * Logging each would cost the node I/O exactly when it has none to spare. A
 * burst per window is logged; the rest are counted, and the count is reported
 * once the window ends.
 */

import type { Logger } from 'pino'
import { monotonicMs } from '../clock/monotonic-ms.js'

/** Shed request lines logged per window; the rest are counted in one line per window. */
export const SHED_LOG_BURST = 10
export const SHED_LOG_WINDOW_MS = 10_000
/** Redis connection errors logged per window, per client. */
export const REDIS_ERROR_LOG_BURST = 3
export const REDIS_ERROR_LOG_WINDOW_MS = 10_000

export class LogBurstLimit {
  #windowEndMs = 0
  #taken = 0
  #held = 0
  #report: NodeJS.Timeout | undefined

  constructor(
    readonly burst: number,
    readonly windowMs: number,
    private readonly reportHeld: (held: number) => void,
    /** Windows are intervals: a backward step of the wall clock must not hold lines back for its length. */
    private readonly now: () => number = monotonicMs,
  ) {}

  /** Whether this line may be logged; if not, it is counted for the window's report. */
  take(): boolean {
    const now = this.now()
    if (now >= this.#windowEndMs) {
      // The last window's count goes out before this window's first line, even when its timer
      // has not fired yet (a busy event loop runs it late): a reader sees each window whole.
      this.flush()
      this.#windowEndMs = now + this.windowMs
      this.#taken = 0
    }
    if (this.#taken < this.burst) {
      this.#taken++
      return true
    }
    if (this.#held++ === 0) this.#report = setTimeout(() => this.flush(), this.#windowEndMs - now).unref()
    return false
  }

  /** Reports what is held now, as a node that stops before the window ends must. */
  flush(): void {
    clearTimeout(this.#report)
    this.#report = undefined
    const held = this.#held
    if (held === 0) return
    this.#held = 0
    this.reportHeld(held)
  }
}

/** A limit whose window's held lines are reported as one warning, `{ held, windowMs }` with `message`. */
export function warningBurstLimit(logger: Logger, burst: number, windowMs: number, message: string): LogBurstLimit {
  return new LogBurstLimit(burst, windowMs, (held) => logger.warn({ held, windowMs }, message))
}
