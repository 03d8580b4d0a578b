/**
 * Notices a stream that went silent without closing: a half-open TCP
 * connection, or a proxy that lost its upstream and keeps the browser's
 * socket. The gateway writes a heartbeat after at most `heartbeatMs` of
 * quiet, so nothing at all for `2 × heartbeatMs + 5 s` means the stream is
 * dead. Arrivals only record a time (they come with every chunk, so no timer
 * is reset per chunk); one timer checks, and re-arms for the time left.
 */

/** How long a stream may stay silent, given the gateway's heartbeat interval. */
export function silenceLimitMs(heartbeatMs: number): number {
  return 2 * heartbeatMs + 5000
}

export class SilenceWatchdog {
  #limitMs = 0
  #lastActivityMs = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly onSilent: () => void) {}

  /** Starts (or restarts) watching, counting from now. */
  start(limitMs: number): void {
    this.#limitMs = limitMs
    this.#lastActivityMs = Date.now()
    clearTimeout(this.#timer)
    this.#timer = setTimeout(this.#check, limitMs)
  }

  /** Bytes arrived. */
  activity(): void {
    this.#lastActivityMs = Date.now()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  readonly #check = (): void => {
    const quietMs = Date.now() - this.#lastActivityMs
    if (quietMs < this.#limitMs) {
      this.#timer = setTimeout(this.#check, this.#limitMs - quietMs)
      return
    }
    this.#timer = undefined
    this.onSilent()
  }
}
