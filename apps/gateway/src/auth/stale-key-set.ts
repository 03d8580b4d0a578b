/**
 * A JWKS that outlives an outage of its issuer. jose refetches a set once it is
 * older than its cache age, and if that fetch fails it verifies nothing: every
 * new stream and every reconnect of a node was turned away (`keys_unavailable`)
 * five minutes into an identity provider's outage, keys it had used a moment
 * before included. Here jose keeps its set for good, and this wrapper refreshes
 * it every `maxAgeMs`: a refresh that succeeds replaces the set, so a key the
 * issuer withdrew stops verifying within `maxAgeMs` as before; one that fails
 * leaves the last set in use, for up to `staleLimitMs` after it was fetched.
 * An outage cannot withdraw a key, and the bell should not go dark with the
 * issuer.
 */

import type { JWTVerifyGetKey } from 'jose'

/** jose's remote key set, as far as this needs it. */
export interface ReloadableKeySet {
  (...args: Parameters<JWTVerifyGetKey>): ReturnType<JWTVerifyGetKey>
  reload(): Promise<void>
}

export interface StaleKeySetOptions {
  /** How old a set may be before a verification refreshes it first. */
  readonly maxAgeMs: number
  /** How old a set may be and still verify while it cannot be refreshed. */
  readonly staleLimitMs: number
  /** When the set in use was fetched; undefined before the first fetch. */
  fetchedAtMs(): number | undefined
  /** A refresh failed, and the set fetched before goes on verifying. */
  onStale(error: unknown): void
}

export function keepingStaleKeys(keySet: ReloadableKeySet, options: StaleKeySetOptions): JWTVerifyGetKey {
  return async (header, token) => {
    const fetchedAtMs = options.fetchedAtMs()
    const ageMs = fetchedAtMs === undefined ? 0 : Date.now() - fetchedAtMs
    if (fetchedAtMs !== undefined && ageMs >= options.maxAgeMs) {
      try {
        await keySet.reload()
      } catch (error) {
        // Past the limit the failure is the verification's: keys_unavailable, as with no set.
        if (ageMs >= options.staleLimitMs) throw error
        options.onStale(error)
      }
    }
    return keySet(header, token)
  }
}
