/**
 * Verifies subscriber JWTs with jose and turns them into a {@link Principal}.
 * `exp` and `sub` are required, algorithms are allowlisted per key type, and
 * `iss`/`aud` are checked when configured. With a JWKS URL, jose caches the
 * key set and refetches it when a token names an unknown `kid`, so key
 * rotation needs no restart; a token without a `kid` is tried against each key
 * of its algorithm in the set; when the set cannot be fetched at all, that is
 * `HERALD_ERR_KEYS_UNAVAILABLE` (the stream is shed, not refused), never a
 * fault of the token, and it is logged once per outage (key-set-outage.ts);
 * a set fetched before goes on verifying through an outage of up to a day
 * (stale-key-set.ts);
 * a set over 1 MiB, or one that takes over 5 s to arrive, counts as not
 * fetched (key-set-fetch.ts).
 * A plain HMAC token has its signature checked by node:crypto
 * (hmac-fast-path.ts) and its claims by jose; any other goes to jose whole. Every fault of the token becomes a {@link HeraldError} with its own
 * code, and messages never include the token; a failure of the node's own is left as it is, a
 * 500 HERALD_ERR_INTERNAL that is logged (see toHeraldError).
 */

import { webcrypto } from 'node:crypto'
import { isValidTopicGrant, isValidUserId } from '@herald/protocol'
import { duplicateMember } from '@herald/publisher/internal'
import {
  base64url,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwksCache,
  jwtVerify,
} from 'jose'
import type { Logger } from 'pino'
import { monotonicMs } from '../clock/monotonic-ms.js'
import type { GatewayConfig } from '../config/config.js'
import { HeraldError, type HeraldErrorCode } from '../errors/herald-error.js'
import { HeldKeySet, namedKeyRefusal } from './held-key-set.js'
import { createHmacFastPath } from './hmac-fast-path.js'
import { fetchKeySet, KEY_SET_FETCH_TIMEOUT_MS } from './key-set-fetch.js'
import { KeySetFetchDeferred, KeySetOutageLog } from './key-set-outage.js'
import { RetryBackoff } from './retry-backoff.js'
import { keepingStaleKeys } from './stale-key-set.js'
import { tokenKey, VerifiedTokenCache } from './verified-token-cache.js'

export interface Principal {
  readonly userId: string
  /** Topic grants from the `topics` claim; a trailing `*` grants a prefix. */
  readonly topicGrants: readonly string[]
  /** When this node stops accepting the token: `exp` plus the clock tolerance. */
  readonly expiresAtMs: number
}

export type TokenVerifier = (token: string) => Promise<Principal>

const NO_TOPIC_GRANTS: readonly string[] = Object.freeze([])

/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192

/** Verified tokens kept for reconnects: about 0.2 KB each whatever the token's length, so at most ~20 MB. */
const VERIFIED_TOKEN_CACHE_ENTRIES = 100_000
/** How long a key withdrawn from a JWKS can keep admitting tokens verified before. */
const VERIFIED_TOKEN_MAX_AGE_MS = 5 * 60_000
/** How long a fetched JWKS is used before it is fetched again: how long a withdrawn key still admits new tokens. */
export const JWKS_MAX_AGE_MS = 5 * 60_000
/** How long the last JWKS fetched goes on verifying while it cannot be fetched again (stale-key-set.ts). */
export const JWKS_STALE_LIMIT_MS = 24 * 60 * 60_000
/**
 * How long a verification waits for that refetch before it uses the set in hand: an issuer's
 * key set answers well within it, and one that answers nothing costs a stream this, not the
 * fetch's 5 s.
 */
export const JWKS_REFRESH_WAIT_MS = 500
/** How long key set fetches wait after a first failure (at most JWT_JWKS_COOLDOWN_MS). */
const FIRST_FETCH_RETRY_MS = 1000

const JOSE_CODES: Readonly<Record<string, HeraldErrorCode>> = {
  ERR_JWT_EXPIRED: 'HERALD_ERR_TOKEN_EXPIRED',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'HERALD_ERR_TOKEN_SIGNATURE',
  ERR_JOSE_ALG_NOT_ALLOWED: 'HERALD_ERR_TOKEN_ALGORITHM',
  // Outside key resolution, only an unrecognised `crit` extension raises this: the allowlist
  // refuses every algorithm jose does not support before it could.
  ERR_JOSE_NOT_SUPPORTED: 'HERALD_ERR_TOKEN_MALFORMED',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'HERALD_ERR_TOKEN_CLAIM',
  ERR_JWKS_NO_MATCHING_KEY: 'HERALD_ERR_TOKEN_KEY_UNKNOWN',
  // ERR_JWKS_MULTIPLE_MATCHING_KEYS never gets here: the candidates are tried (verifyWithAnyOf).
  ERR_JWS_INVALID: 'HERALD_ERR_TOKEN_MALFORMED',
  ERR_JWT_INVALID: 'HERALD_ERR_TOKEN_MALFORMED',
}

/**
 * What the key set's lookup raises with a usable set: a `kid` it lacks (the token's fault) and
 * several keys that could have signed the token (each is tried). Anything else raised while a
 * key is resolved means there is no usable key set: jose's fetch raises a plain JOSEError for
 * a non-200 answer or a body that is not JSON, JWKSTimeout, JWKSInvalid for a body that is not
 * a key set, and whatever fetch rejects with when the network fails (or fetchKeySet, for a
 * body over its bound).
 */
const TOKEN_KEY_LOOKUP_CODES: ReadonlySet<string> = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
])

/** Hears how the node's JWKS fetches go (for its metrics); never about tokens. */
export interface KeySetFetchObserver {
  /** A fetch gave a usable set, in use from now: `atMs` on the node's monotonic clock. */
  keySetFetched(atMs: number): void
  /** A fetch was made and failed; one held back by the backoff is no fetch. */
  keySetFetchFailed(): void
}

/** `logger` hears when the JWKS cannot be fetched; never about tokens. */
export function createTokenVerifier(
  jwt: GatewayConfig['jwt'],
  logger?: Logger,
  fetches?: KeySetFetchObserver,
): TokenVerifier {
  const options: JWTVerifyOptions = {
    algorithms: [...jwt.key.algorithms],
    requiredClaims: ['exp', 'sub'],
    clockTolerance: jwt.clockToleranceSeconds,
    ...(jwt.issuer === undefined ? {} : { issuer: jwt.issuer }),
    ...(jwt.audience === undefined ? {} : { audience: jwt.audience }),
  }
  const verify = selectVerify(jwt, options, logger, fetches)
  const verified = new VerifiedTokenCache(VERIFIED_TOKEN_CACHE_ENTRIES, VERIFIED_TOKEN_MAX_AGE_MS)
  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new HeraldError('HERALD_ERR_TOKEN_MALFORMED', `token is longer than ${MAX_TOKEN_LENGTH} characters`)
    }
    const key = tokenKey(token)
    const cached = verified.get(key, Date.now(), monotonicMs())
    if (cached !== undefined) return cached
    let payload: JWTPayload
    try {
      payload = await verify(token)
    } catch (error) {
      throw toHeraldError(error)
    }
    const repeated = repeatedClaim(token)
    if (repeated !== undefined) {
      throw new HeraldError('HERALD_ERR_TOKEN_CLAIM', `the token's payload names ${repeated} more than once`)
    }
    const principal = toPrincipal(payload, jwt.clockToleranceSeconds)
    verified.set(key, principal, Date.now(), monotonicMs())
    return principal
  }
}

function selectVerify(
  jwt: GatewayConfig['jwt'],
  options: JWTVerifyOptions,
  logger: Logger | undefined,
  fetches: KeySetFetchObserver | undefined,
): (token: string) => Promise<JWTPayload> {
  const { key } = jwt
  switch (key.kind) {
    case 'secret': {
      // Imported once per algorithm: handing jose the raw secret imports it on every verify,
      // which doubles the cost of an HS256 check (about 80 µs against 40 µs here).
      const imported = new Map<string, Promise<webcrypto.CryptoKey>>()
      const keyFor = (header: { alg?: string }): Promise<webcrypto.CryptoKey> | Uint8Array => {
        const alg = header.alg ?? ''
        // jose refuses algorithms outside the allowlist; only allowed ones get a key of their own.
        if (!key.algorithms.includes(alg)) return key.secret
        let cryptoKey = imported.get(alg)
        if (cryptoKey === undefined) {
          const hash = { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }
          cryptoKey = webcrypto.subtle.importKey('raw', key.secret, hash, false, ['verify'])
          imported.set(alg, cryptoKey)
        }
        return cryptoKey
      }
      const plain = createHmacFastPath(key.secret, key.algorithms, options)
      return async (token) => plain(token) ?? (await jwtVerify(token, keyFor, options)).payload
    }
    case 'public-key':
      return async (token) => (await jwtVerify(token, key.key, options)).payload
    case 'jwks': {
      // Key sets fetched and read whole: a verification during which this moved saw the set
      // as it is now, not as it was cached. Failed fetches do not count, so one that fails
      // beside a verification from the cache cannot end an outage.
      let fetched = 0
      let fetchedAtMs: number | undefined
      // jose's cooldown runs from the last fetch that succeeded: while fetches fail, every token
      // with a kid it lacks (anyone can make one up), or every token at all before a first set,
      // would fetch again. So after a failure, fetches wait, 1 s, then twice as long each time,
      // up to the cooldown; verifications the cached set can answer go on meanwhile. A cooldown
      // under 1 s still waits 1 s after a failure: with 0, forged kids during an outage would
      // each make a fetch. The waits and the set's age run on the monotonic clock: on the wall
      // clock, one stepped back by an hour after a failed fetch held every fetch back for that
      // hour, and one stepped forward by a day made the set in hand too old to verify. (jose's
      // cooldown between refetches for unknown kids reads the wall clock; after a step back, the
      // refresh every JWKS_MAX_AGE_MS still brings a new key in.)
      const fetchBackoff = new RetryBackoff(FIRST_FETCH_RETRY_MS, Math.max(FIRST_FETCH_RETRY_MS, jwt.jwksCooldownMs))
      const held = new HeldKeySet()
      const keySet = createRemoteJWKSet(key.url, {
        [jwksCache]: held.cache,
        cooldownDuration: jwt.jwksCooldownMs,
        // Never stale to jose: keepingStaleKeys refreshes it, and keeps it while refreshes fail.
        cacheMaxAge: Number.POSITIVE_INFINITY,
        // jose's signal, which fetchKeySet reads the body under: the bound covers the whole body.
        timeoutDuration: KEY_SET_FETCH_TIMEOUT_MS,
        [customFetch]: async (url: string, init: RequestInit) => {
          if (!fetchBackoff.ready(monotonicMs())) throw new KeySetFetchDeferred()
          try {
            const { response, usable } = await fetchKeySet(url, init)
            if (usable) {
              fetched++
              fetchedAtMs = monotonicMs()
              fetches?.keySetFetched(fetchedAtMs)
            } else fetches?.keySetFetchFailed()
            fetchBackoff.outcome(usable, monotonicMs())
            return response
          } catch (error) {
            fetches?.keySetFetchFailed()
            fetchBackoff.outcome(false, monotonicMs())
            throw error
          }
        },
      })
      const outage = new KeySetOutageLog(logger, key.url, () => fetchedAtMs)
      const currentKeys = keepingStaleKeys(keySet, {
        maxAgeMs: JWKS_MAX_AGE_MS,
        staleLimitMs: JWKS_STALE_LIMIT_MS,
        refreshWaitMs: JWKS_REFRESH_WAIT_MS,
        fetchedAtMs: () => fetchedAtMs,
        onStale: (error) => outage.stale(error, monotonicMs()),
      })
      // A key jose will not verify with is logged once per key id: it stays in the set until the
      // issuer removes it, and an outage log would end and start again with every other token.
      const unusableKeys = new Set<string>()
      const unusable = (error: TypeError, token: string) => {
        const kid = String(decodeProtectedHeader(token).kid ?? '')
        if (unusableKeys.has(kid)) return
        unusableKeys.add(kid)
        logger?.warn(
          { jwks: `${key.url.origin}${key.url.pathname}`, kid, err: error.message },
          'a key of the set cannot be used; streams whose tokens it signed get keys_unavailable',
        )
      }
      const unavailable = (cause: unknown) =>
        new HeraldError('HERALD_ERR_KEYS_UNAVAILABLE', describe('HERALD_ERR_KEYS_UNAVAILABLE'), { cause })
      /** What keyFor threw because the set could not be had (a network error is a TypeError too). */
      const fetchFailures = new WeakSet<object>()
      // jose resolves the key once the token's header has parsed and passed its checks: apart
      // from a `kid` the set lacks, whatever fails here is the key set's, not the token's.
      const keyFor: JWTVerifyGetKey = async (header, token) => {
        // jose looks a kid up as it is: one that is no string names no key, and would be shed
        // as a key the set may have gained since instead of refused as the malformed header it is.
        if (header.kid !== undefined && typeof header.kid !== 'string') {
          throw new errors.JWSInvalid('the token header\'s "kid" is not a string')
        }
        // Past jose's cooldown, a kid the held set names under another algorithm would be a fetch.
        if (!keySet.coolingDown) await held.refuseMismatch(header, token)
        const fetchedBefore = fetched
        try {
          return await currentKeys(header, token)
        } catch (error) {
          if (!TOKEN_KEY_LOOKUP_CODES.has(joseCodeOf(error) ?? '')) {
            outage.failed(error, monotonicMs())
            const failure = unavailable(error)
            fetchFailures.add(failure)
            throw failure
          }
          // The set has this kid, for another algorithm than the token's (jose matches a key's
          // "alg" and type), or not for signatures: the token's fault, as a new key under a kid
          // the set already has is not fetched for either.
          const named = error instanceof errors.JWKSNoMatchingKey ? held.named(header.kid) : []
          if (named.length > 0) throw namedKeyRefusal(named)
          // Fetched within the cooldown, so not again for this token: a key published since may
          // have signed it. Shed, it comes back once the set can be fetched; a 401 would stop a
          // native EventSource for good, and anyone can start the cooldown with a made-up kid.
          if (error instanceof errors.JWKSNoMatchingKey && fetched === fetchedBefore && keySet.coolingDown) {
            throw unavailable(error)
          }
          throw error
        }
      }
      return async (token) => {
        const fetchedBefore = fetched
        let fetchFailed = false
        try {
          try {
            return (await jwtVerify(token, keyFor, options)).payload
          } catch (error) {
            if (error instanceof errors.JWKSMultipleMatchingKeys) return await verifyWithAnyOf(error, token, options)
            throw error
          }
        } catch (error) {
          let failure = error
          // jose raises a TypeError for a key it will not verify with (an RSA key under 2048
          // bits): the key set's fault, not the token's, which may be good.
          if (error instanceof TypeError) {
            unusable(error, token)
            failure = unavailable(error)
          }
          if (failure instanceof HeraldError && failure.code === 'HERALD_ERR_KEYS_UNAVAILABLE') {
            fetchFailed = fetchFailures.has(failure)
            // jose decodes the payload and signature only after it has the key, so without keys
            // a token broken there would be shed, and come back, instead of being refused.
            decodeJwt(token)
            try {
              base64url.decode(token.slice(token.lastIndexOf('.') + 1))
            } catch {
              // jose's decoder raises a plain TypeError, which toHeraldError leaves as internal.
              throw new errors.JWSInvalid('the signature is not base64url')
            }
          }
          throw failure
        } finally {
          // A set fetched during this verification and usable for it ends an outage; one from the
          // cache says nothing of whether it can be fetched now.
          if (!fetchFailed && fetched !== fetchedBefore) outage.succeeded()
        }
      }
    }
  }
}

/**
 * A token without a `kid` matches every key of its algorithm, so while a rotation publishes two
 * RS256 keys jose cannot pick one and hands over the candidates instead. That the set holds
 * several is not the token's fault: it verifies if any of them signed it, and otherwise it is a
 * bad signature, as when the set holds one key. That costs a signature check per candidate, and
 * a key set holds a few keys.
 */
async function verifyWithAnyOf(
  candidates: errors.JWKSMultipleMatchingKeys,
  token: string,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  // A key jose will not verify with (a TypeError: an RSA key under 2048 bits) may be the one
  // that signed it: if no other key does, the token may be good, and the answer is the set's.
  let unusable: TypeError | undefined
  for await (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload
    } catch (error) {
      if (error instanceof TypeError) {
        unusable = error
        continue
      }
      // Only the signature check depends on the key: any other failure (claims, an undecodable
      // signature or payload) would recur with every key, so it is the token's answer.
      if (joseCodeOf(error) !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw error
    }
  }
  throw unusable ?? new errors.JWSSignatureVerificationFailed()
}

/**
 * A claim the signed payload names twice. JSON.parse keeps the last one, while whatever checked
 * the claims before they were signed may have read the first: `{"sub":"alice","sub":"bob"}`
 * opened bob's stream. Publish bodies refuse a repeated member for the same reason. Read only
 * once a token verified, so the payload segment is well formed; a cached token skips it.
 */
function repeatedClaim(token: string): string | undefined {
  const start = token.indexOf('.') + 1
  const payloadText = Buffer.from(token.slice(start, token.indexOf('.', start)), 'base64url').toString('utf8')
  return duplicateMember(payloadText)
}

function toPrincipal(payload: JWTPayload, clockToleranceSeconds: number): Principal {
  const { sub, exp } = payload
  // JSON reads an exp like 1e400 as Infinity, which every check passes: a token that never expires.
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new HeraldError('HERALD_ERR_TOKEN_CLAIM', 'exp must be a finite NumericDate (seconds since the epoch)')
  }
  if (typeof sub !== 'string' || !isValidUserId(sub)) {
    throw new HeraldError(
      'HERALD_ERR_TOKEN_CLAIM',
      'sub must be a user id of 1 to 128 characters from [A-Za-z0-9._:@+=|-]',
    )
  }
  const topics = payload['topics'] ?? []
  if (!Array.isArray(topics) || !topics.every((t): t is string => typeof t === 'string' && isValidTopicGrant(t))) {
    throw new HeraldError(
      'HERALD_ERR_TOKEN_CLAIM',
      'topics must be an array of topic names, each optionally ending in *',
    )
  }
  // A stream closes when its token stops being accepted, not earlier: a token taken within the
  // tolerance would otherwise be cut at once and come straight back, in a loop.
  return {
    userId: sub,
    // Most tokens grant no topics; they share one empty list instead of caching one each.
    topicGrants: topics.length === 0 ? NO_TOPIC_GRANTS : topics,
    expiresAtMs: (exp + clockToleranceSeconds) * 1000,
  }
}

/**
 * jose's token errors become the client's refusal; anything else (a TypeError from a key jose
 * will not verify with, a crypto error) is this node's fault, not the token's, and is returned
 * as it is, so the request answers 500 HERALD_ERR_INTERNAL and logs it with its stack. Reported
 * as a malformed token, it would send clients away with a 401 and leave no trace of the cause.
 */
function toHeraldError(error: unknown): unknown {
  if (error instanceof HeraldError) return error
  const joseCode = joseCodeOf(error)
  const code = joseCode === undefined ? undefined : JOSE_CODES[joseCode]
  if (code !== undefined) {
    const claim = (error as { claim?: unknown }).claim
    const message =
      code === 'HERALD_ERR_TOKEN_CLAIM' && typeof claim === 'string'
        ? `claim "${claim}" failed validation`
        : joseCode === 'ERR_JOSE_NOT_SUPPORTED'
          ? 'token header requires an extension (crit) that is not supported'
          : describe(code)
    return new HeraldError(code, message)
  }
  return error
}

function joseCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function describe(code: HeraldErrorCode): string {
  switch (code) {
    case 'HERALD_ERR_TOKEN_EXPIRED':
      return 'token has expired'
    case 'HERALD_ERR_TOKEN_SIGNATURE':
      return 'token signature does not verify'
    case 'HERALD_ERR_TOKEN_ALGORITHM':
      return 'token algorithm is not allowed for the configured key'
    case 'HERALD_ERR_TOKEN_KEY_UNKNOWN':
      return 'token names a key id (kid) that is not in the key set'
    case 'HERALD_ERR_KEYS_UNAVAILABLE':
      return 'no usable verification key could be had (the key set could not be fetched, or its key cannot be used); try again shortly'
    default:
      return 'token is not a well-formed JWT'
  }
}
