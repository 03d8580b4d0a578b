/**
 * Tells the operator when the JWKS cannot be fetched (a key jose will not
 * verify with is logged apart, once per key id: token-verifier.ts). While it
 * cannot, every stream that needs a key is turned away with
 * `keys_unavailable`, and nothing else in the logs would say why; but a line
 * per refused token would flood them during an outage. So: one warning when an
 * outage starts, a reminder at most once a minute while it lasts (with how
 * many verifications it refused since the last line), and one line when the
 * set is fetched again.
 */

import type { Logger } from 'pino'

/** How often a lasting outage is logged again. */
export const KEY_SET_OUTAGE_REMINDER_MS = 60_000

export class KeySetOutageLog {
  /** Where the key set lives, without credentials a URL might carry (userinfo, query). */
  readonly #jwks: string
  #failing = false
  #refused = 0
  #lastWarnedMs = Number.NEGATIVE_INFINITY

  constructor(
    private readonly logger: Logger | undefined,
    url: URL,
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
    this.#warn(
      nowMs,
      { err: describe(error) },
      'verification keys are unavailable (err says why); streams get keys_unavailable until they are back',
      'verification keys are still unavailable (err says why); streams get keys_unavailable',
    )
  }

  /** The set could not be fetched again, and the one fetched `ageMs` ago goes on verifying. */
  stale(error: unknown, ageMs: number, nowMs: number): void {
    this.#warn(
      nowMs,
      { err: describe(error), keySetAgeSeconds: Math.round(ageMs / 1000) },
      'verification keys could not be fetched again (err says why); verifying with the set fetched before',
      'verification keys still cannot be fetched again (err says why); verifying with the set fetched before',
    )
  }

  /** Warns as an outage starts, then at most once per reminder interval while it lasts. */
  #warn(nowMs: number, fields: Record<string, unknown>, starts: string, lasts: string): void {
    if (this.#failing && nowMs - this.#lastWarnedMs < this.reminderMs) return
    this.logger?.warn({ jwks: this.#jwks, ...fields, refused: this.#refused }, this.#failing ? lasts : starts)
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
