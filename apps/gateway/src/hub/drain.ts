/**
 * Draining on shutdown: close every stream within a window, spread out, so
 * clients reconnect to other nodes gradually instead of in one herd. Each
 * stream is sent a jittered `retry:` hint before it ends. Pure scheduling,
 * unit-tested; the server applies it.
 */

export interface DrainStep {
  /** When to close, from the start of the drain. */
  readonly atMs: number
  /** The reconnection delay hint sent just before closing. */
  readonly retryMs: number
}

/** One step per stream: closes evenly spaced over the window, each with a random retry in [base, 2 × base). */
export function drainSchedule(count: number, windowMs: number, retryBaseMs: number, random: () => number): DrainStep[] {
  const spacing = count > 0 ? windowMs / count : 0
  return Array.from({ length: count }, (_, i) => ({
    atMs: Math.round(i * spacing + random() * spacing),
    retryMs: jitteredRetryMs(retryBaseMs, random),
  }))
}

/**
 * A reconnection delay in [base, 2 × base): streams closed together (a drain, a Redis that
 * restarted empty) come back spread over a whole base delay instead of in one herd.
 */
export function jitteredRetryMs(retryBaseMs: number, random: () => number): number {
  // Rounded down: rounded to the nearest, a draw within half a millisecond of the top gave 2 × base.
  return Math.floor(retryBaseMs * (1 + random()))
}
