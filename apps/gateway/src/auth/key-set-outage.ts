/**
 * Tells the operator when the JWKS cannot be fetched (a key jose will not
 * verify with is logged apart, once per key id: token-verifier.ts). While it
 * cannot, tokens of the keys fetched before are verified with them (for a
 * while: stale-key-set.ts), and every other stream that needs a key is turned
 * away with `keys_unavailable`, and nothing else in the logs would say why;
 * but a line per token would flood them during an outage. So: one warning when
 * an outage starts, a reminder at most once a minute while it lasts (with how
 * many verifications it refused since the last line, and how old the set in
 * use is), and one line when the set is fetched again. Each names the fetch's
 * own failure, not the backoff that holds fetches back meanwhile.
 */

import type { Logger } from 'pino'

/** How often a lasting outage is logged again. */
export const KEY_SET_OUTAGE_REMINDER_MS = 60_000

/** A fetch not made, since the last one failed moments ago: the outage's cause is that one's. */
export class KeySetFetchDeferred extends Error {
  constructor() {
    super('the last key set fetch failed; not fetching again yet')
  }
}

export class KeySetOutageLog {
  /** Where the key set lives, without credentials a URL might carry (userinfo, query). */
  readonly #jwks: string
  #failing = false
  #refused = 0
  #lastWarnedMs = Number.NEGATIVE_INFINITY
  /** What the last fetch that was made raised. */
  #cause: unknown

  constructor(
    private readonly logger: Logger | undefined,
    url: URL,
    /** When the set in use was fetched, if one was. */
    private readonly fetchedAtMs: () => number | undefined = () => undefined,
    private readonly reminderMs = KEY_SET_OUTAGE_REMINDER_MS,
  ) {
    this.#jwks = `${url.origin}${url.pathname}`
  }

  get failing(): boolean {
    return this.#failing
  }

  /** A verification found no key set; `error` is what the fetch raised (never the token). */
  failed(error: unknown, nowMs: number): void {
    this.#refused++
    this.stale(error, nowMs)
  }

  /** The set could not be fetched (again): `error` is why, and the set fetched before, if any, verifies. */
  stale(error: unknown, nowMs: number): void {
    if (!(error instanceof KeySetFetchDeferred)) this.#cause = error
    if (this.#failing && nowMs - this.#lastWarnedMs < this.reminderMs) return
    const fetchedAtMs = this.fetchedAtMs()
    this.logger?.warn(
      {
        jwks: this.#jwks,
        err: describe(this.#cause ?? error),
        refused: this.#refused,
        ...(fetchedAtMs === undefined ? {} : { keySetAgeSeconds: Math.round((nowMs - fetchedAtMs) / 1000) }),
      },
      `verification keys ${this.#failing ? 'still cannot' : 'cannot'} be fetched (err says why): tokens of keys fetched before are verified with them, for up to a day after that fetch; streams that need another key get keys_unavailable`,
    )
    this.#failing = true
    this.#refused = 0
    this.#lastWarnedMs = nowMs
  }

  /** The set was fetched and usable; ends an outage, if there was one. */
  succeeded(): void {
    if (!this.#failing) return
    this.#failing = false
    this.logger?.info({ jwks: this.#jwks, refused: this.#refused }, 'verification keys are available again')
    this.#refused = 0
  }
}

/** The error's message and, for a network failure, its cause's code (`ECONNREFUSED`, ...). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as { cause?: { code?: unknown } }).cause
  return typeof cause?.code === 'string' ? `${error.message} (${cause.code})` : error.message
}
