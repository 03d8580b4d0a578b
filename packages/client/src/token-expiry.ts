/**
 * Reading a JWT's claims in the browser (no verification: the gateway does
 * that) to learn its subject and when it expires, and deciding when to ask
 * for a new one. The gateway closes a stream up to a tenth of the token's
 * lifetime (at most TOKEN_EXPIRY_JITTER_MS) before `exp`; refreshing a fifth
 * of the lifetime early (at most a minute) keeps the client ahead of that.
 *
 * A token that is due for refresh as soon as it arrives cannot be timed by
 * this clock: the client's clock is ahead of the server's, or the token
 * source hands out stale tokens. Refreshing it would only fetch another like
 * it, so it has no refresh time and the server judges its expiry.
 */

const MAX_MARGIN_MS = 60_000
/** A token due for refresh sooner than this after it arrived is treated as untimeable. */
const MIN_TOKEN_USE_MS = 1000

export interface TokenClaims {
  readonly sub?: string
  /** `exp` in milliseconds, when the token has one. */
  readonly expiresAtMs?: number
}

/** The claims of a JWT, or empty claims when it cannot be read. */
export function readTokenClaims(token: string): TokenClaims {
  const payload = token.split('.')[1]
  if (payload === undefined) return {}
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/')
    const json = JSON.parse(
      decodeURIComponent(Array.from(atob(base64), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')),
    ) as Record<string, unknown>
    const sub = json['sub']
    const exp = json['exp']
    return {
      ...(typeof sub === 'string' ? { sub } : {}),
      ...(typeof exp === 'number' && Number.isFinite(exp) ? { expiresAtMs: exp * 1000 } : {}),
    }
  } catch {
    return {}
  }
}

/**
 * When to fetch a new token for one that expires at `expiresAtMs` and was obtained at
 * `obtainedAtMs`; undefined when that is less than a second after it arrived (see above).
 */
export function refreshAt(expiresAtMs: number, obtainedAtMs: number): number | undefined {
  const lifetime = Math.max(0, expiresAtMs - obtainedAtMs)
  const at = expiresAtMs - Math.min(MAX_MARGIN_MS, lifetime / 5)
  return at - obtainedAtMs < MIN_TOKEN_USE_MS ? undefined : at
}
