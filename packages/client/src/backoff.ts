/**
 * How long to wait before the next connection attempt. Exponential from the
 * server's `retry:` hint up to a cap, with "equal jitter" (half fixed, half
 * random) so a fleet of browsers that lost the same node does not come back
 * in one wave, yet no client retries sooner than half its step.
 */

export interface BackoffPolicy {
  /** The first step, normally the server's `retry:` value. */
  readonly baseMs: number
  /** No step is longer than this. */
  readonly maxMs: number
}

/** The delay before attempt `attempt` (0 for the first retry after a failure). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(step / 2 + random() * (step / 2))
}
