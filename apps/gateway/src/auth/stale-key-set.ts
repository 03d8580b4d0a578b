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
 * issuer. Nor stall with it: a verification waits at most `refreshWaitMs` for
 * the refresh, then uses the set in hand while the refresh goes on (an issuer
 * that answers nothing held every stream opened meanwhile for the fetch's 5 s).
 */

import { settledWithin } from '@herald/publisher/internal'
import type { JWTVerifyGetKey } from 'jose'
import { monotonicMs } from '../clock/monotonic-ms.js'

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
  /**
   * How long a verification waits for a refresh before it uses the set in hand: long enough
   * for a refresh that answers to land first, so a withdrawn key stops verifying at
   * `maxAgeMs` as a rule, and short enough that an issuer that hangs costs each stream that.
   */
  readonly refreshWaitMs: number
  /** When the set in use was fetched; undefined before the first fetch. */
  fetchedAtMs(): number | undefined
  /** A refresh failed, and the set fetched before goes on verifying: called once per refresh. */
  onStale(error: unknown): void
}

export function keepingStaleKeys(keySet: ReloadableKeySet, options: StaleKeySetOptions): JWTVerifyGetKey {
  /** The refresh under way, shared by every verification that needs it; settles with its error, if any. */
  let refreshing: Promise<unknown> | undefined
  const refresh = (fetchedAtMs: number): Promise<unknown> => {
    if (refreshing !== undefined) return refreshing
    const current = keySet.reload().then(
      () => undefined,
      (error: unknown) => {
        // Past the limit the failure is each verification's: keys_unavailable, as with no set.
        if (monotonicMs() - fetchedAtMs < options.staleLimitMs) options.onStale(error)
        return error
      },
    )
    refreshing = current
    // Cleared once settled: the next verification past maxAgeMs asks again (the backoff decides).
    void current.then(() => {
      if (refreshing === current) refreshing = undefined
    })
    return current
  }
  return async (header, token) => {
    const fetchedAtMs = options.fetchedAtMs()
    const ageMs = fetchedAtMs === undefined ? 0 : monotonicMs() - fetchedAtMs
    if (fetchedAtMs !== undefined && ageMs >= options.maxAgeMs) {
      const refreshed = refresh(fetchedAtMs)
      if (ageMs >= options.staleLimitMs) {
        // No set to fall back on: the refresh decides.
        const error = await refreshed
        if (error !== undefined) throw error
      } else await settledWithin(refreshed, options.refreshWaitMs)
    }
    return keySet(header, token)
  }
}
