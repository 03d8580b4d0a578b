/**
 * Bounded polling for Redis state that emits no event we could await (cluster convergence,
 * sentinel discovery, failover progress). Every attempt awaits a real reply; the short pause
 * between attempts only spaces out the queries, and the deadline turns a hang into a clear error.
 */
import { setTimeout as delay } from 'node:timers/promises'

export interface PollOptions {
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number
  /** First pause between attempts; doubles up to `maxIntervalMs` (default 50 ms). */
  readonly intervalMs?: number
  /** Longest pause between attempts (default 500 ms). */
  readonly maxIntervalMs?: number
}

/**
 * Call `probe` until it returns something other than `undefined`, and return that. A probe that
 * throws counts as "not yet" (servers refuse connections while they restart); its last error is
 * reported if the deadline passes.
 */
export async function pollUntil<T>(
  description: string,
  probe: () => Promise<T | undefined>,
  options: PollOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const maxIntervalMs = options.maxIntervalMs ?? 500
  let intervalMs = options.intervalMs ?? 50
  const deadline = Date.now() + timeoutMs
  let attempts = 0
  let lastProblem = 'no attempt finished'
  for (;;) {
    attempts += 1
    try {
      const result = await probe()
      if (result !== undefined) return result
      lastProblem = 'condition not met yet'
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error)
    }
    const remaining = deadline - Date.now()
    if (remaining <= 0) {
      throw new Error(
        `Timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${description}; last: ${lastProblem}`,
      )
    }
    await delay(Math.min(intervalMs, remaining))
    intervalMs = Math.min(intervalMs * 2, maxIntervalMs)
  }
}
