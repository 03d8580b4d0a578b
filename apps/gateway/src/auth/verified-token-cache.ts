/**
 * Tokens this node has already verified, so a reconnecting tab (a network
 * blip, a drain, a reconnect storm) is admitted without redoing the
 * signature check, which costs about 20 µs of CPU per plain HS256 token,
 * 40-80 µs through jose, and more for RS/ES. Only successful verifications
 * are kept, each until the token expires or `maxAgeMs` passes, whichever is
 * first: the age cap bounds how long a key withdrawn from a JWKS keeps
 * admitting tokens it signed. Bounded in entries, oldest first out; pure,
 * with the clocks passed in: the wall clock for `exp`, which the issuer set on
 * its own, and the node's monotonic clock for the age cap, which a wall clock
 * stepped back an hour would otherwise stretch by that hour.
 *
 * Entries are keyed by the token's SHA-256, not the token: a token is up to
 * MAX_TOKEN_LENGTH characters, so 100,000 entries keyed by tokens could hold
 * hundreds of MB, and every open stream's token would stay in memory (and in
 * any heap dump) for as long as its entry. A digest is 32 bytes whatever the
 * token, and costs about 1 µs, against the 20-80 µs of a signature check.
 */

import { createHash } from 'node:crypto'
import type { Principal } from './token-verifier.js'

/**
 * A token's cache key: its SHA-256 as a 32-character one-byte string ('binary' is latin1), the
 * smallest string key. Computed once per token check, by the caller, for both `get` and `set`.
 */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('binary')
}

/** The principal and the cache's deadline in one object: an entry per recent token adds up. */
interface CachedPrincipal extends Principal {
  /** On the monotonic clock: when `maxAgeMs` has passed since it was verified. */
  readonly agedOutAtMs: number
}

/** Whether `cached` still admits, at `wallMs` on the wall clock and `monotonicMs` on the node's. */
function admits(cached: CachedPrincipal, wallMs: number, monotonicMs: number): boolean {
  return wallMs < cached.expiresAtMs && monotonicMs < cached.agedOutAtMs
}

export class VerifiedTokenCache {
  readonly #entries = new Map<string, CachedPrincipal>()

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.#entries.size
  }

  /** `key` is the token's {@link tokenKey}, never the token. */
  get(key: string, wallMs: number, monotonicMs: number): Principal | undefined {
    const cached = this.#entries.get(key)
    if (cached === undefined) return undefined
    if (admits(cached, wallMs, monotonicMs)) return cached
    this.#entries.delete(key)
    return undefined
  }

  set(key: string, principal: Principal, wallMs: number, monotonicMs: number): void {
    if (this.maxEntries <= 0 || principal.expiresAtMs <= wallMs || this.maxAgeMs <= 0) return
    this.#entries.delete(key)
    // Entries past their deadline are dropped only when looked up, and most tokens are never
    // looked up again: without this the cache filled toward maxEntries with dead ones (about
    // 50,000 tokens a node in a 30-minute soak, whose idle heap then stayed 9-17 MB above where
    // it started). Two at the front go per insert, so it holds about the tokens of the last
    // maxAgeMs. The front is the oldest, if not always the first to expire (a short-lived token
    // behind a long-lived one waits for it).
    for (let i = 0; i < 2; i++) {
      const oldest = this.#entries.entries().next()
      if (oldest.done === true || admits(oldest.value[1], wallMs, monotonicMs)) break
      this.#entries.delete(oldest.value[0])
    }
    if (this.#entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
    // A literal with every field, not a spread: the spread's shape would need a second object
    // for its fourth field.
    this.#entries.set(key, {
      userId: principal.userId,
      topicGrants: principal.topicGrants,
      expiresAtMs: principal.expiresAtMs,
      agedOutAtMs: monotonicMs + this.maxAgeMs,
    })
  }
}
