/**
 * How long to wait before the next connection attempt. Exponential from the
 * server's `retry:` hint up to a cap, with "equal jitter" (half fixed, half
 * random) so a fleet of browsers that lost the same node does not come back
 * in one wave, yet no client retries sooner than half its step, nor sooner
 * than the least delay a server may ask for.
 */

export interface BackoffPolicy {
  /** The first step, normally the server's `retry:` value. */
  readonly baseMs: number
  /** No step is longer than this. */
  readonly maxMs: number
}

/** The least wait a server's `retry:` or `retryMs` counts as: the gateway's own least `RETRY_MS`. */
export const MIN_ASKED_DELAY_MS = 100
/** The longest: a longer wait would look like a client that stopped (a timer past 2^31 ms fires at once). */
export const MAX_ASKED_DELAY_MS = 600_000

/** The un-jittered step of attempt `attempt`: the longest the wait before it may be. */
export function backoffStep(policy: BackoffPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30))
}

/**
 * The delay before attempt `attempt` (0 for the first retry after a failure). The jitter never
 * takes it below 100 ms: half of a 100 ms step would let a proxy's `retry: 0` set a 50 ms loop.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const step = backoffStep(policy, attempt)
  return Math.max(MIN_ASKED_DELAY_MS, Math.round(step / 2 + random() * (step / 2)))
}

/**
 * The attempt to count from after a stream that ended by itself, `liveMs` after `herald.ready`
 * (undefined if it never got there). The backoff starts over only once a stream stayed live at
 * least as long as the step it would give up: then the client spends at least as long connected
 * as waiting, and a stream that goes live and ends at once (an upstream that closes every
 * stream) keeps backing off instead of reconnecting every 100 ms.
 */
export function attemptAfterStream(policy: BackoffPolicy, attempt: number, liveMs: number | undefined): number {
  return liveMs !== undefined && liveMs >= backoffStep(policy, attempt) ? 0 : attempt
}

/**
 * The wait after a stream that the server ended with a `retry:` (`closingMs`) once `liveMs` live,
 * where the backoff would wait `backoffMs`. A stream live for at least the first step is taken at
 * its word: the gateway drains, or lost more of an outage than history holds, and says when to
 * come back, however far failures before that stream had grown the backoff. One that ended sooner
 * waits at least as asked but backs off: an upstream that ends every stream with `retry: 100`
 * would otherwise set a loop of ten streams a second.
 */
export function waitAfterClosingRetry(
  policy: BackoffPolicy,
  backoffMs: number,
  closingMs: number,
  liveMs: number,
): number {
  return liveMs >= policy.baseMs ? closingMs : Math.max(backoffMs, closingMs)
}

/**
 * The wait after the `inRow`-th `herald.unavailable` in a row that asked for `askedMs`: the first
 * as asked, later ones backing off from it, never below it. Taken at its word every time, a
 * server or proxy that answers every attempt so with `retryMs` 100 (a gateway draining with
 * `RETRY_MS=100` does) set a loop of ten attempts a second for as long as it lasted.
 */
export function waitAfterUnavailable(
  policy: BackoffPolicy,
  askedMs: number,
  inRow: number,
  random: () => number = Math.random,
): number {
  if (inRow <= 1) return askedMs
  return Math.max(askedMs, backoffDelay({ baseMs: askedMs, maxMs: policy.maxMs }, inRow - 1, random))
}

/**
 * A delay a server asked for (`retry:`, or `retryMs` in `herald.unavailable`), as the client
 * waits it: clamped from 100 ms to 10 minutes, so `retry: 0` from a misbehaving proxy cannot make
 * every tab reconnect in a hot loop; `undefined` for anything that is not a finite number.
 */
export function askedDelayMs(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined
  return Math.min(MAX_ASKED_DELAY_MS, Math.max(MIN_ASKED_DELAY_MS, value))
}
