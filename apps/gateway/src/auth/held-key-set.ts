/**
 * The JWKS jose holds, read as jose stored it (its `jwksCache` object, filled in on every fetch it
 * applies), so a token whose kid the set names can be judged without a fetch. Past its cooldown,
 * jose refetches the set for any token no key of it matches, so a token naming a known kid under
 * another algorithm, or a key not for signatures, was a fetch each time; and while the issuer was
 * down, a shed (keys_unavailable, after up to the 5 s fetch timeout) where it is the token's
 * fault, a 401.
 */

import {
  createLocalJWKSet,
  type ExportedJWKSCache,
  errors,
  type FlattenedJWSInput,
  type JWK,
  type JWKSCacheInput,
  type JWTHeaderParameters,
} from 'jose'
import { HeraldError } from '../errors/herald-error.js'

export class HeldKeySet {
  /** For `createRemoteJWKSet`'s `[jwksCache]` option. */
  readonly cache: JWKSCacheInput = {}
  /** The held set as jose would look a key up in it, made again when jose stores a new one. */
  #lookup: { uat: number; find: ReturnType<typeof createLocalJWKSet> } | undefined

  /** The keys of the held set that `kid` names. */
  named(kid: string | undefined): JWK[] {
    const { jwks } = this.cache as Partial<ExportedJWKSCache>
    return kid === undefined || jwks === undefined ? [] : jwks.keys.filter((jwk) => jwk.kid === kid)
  }

  /** Throws the token's refusal if the held set names its kid and no key of it fits the token. */
  async refuseMismatch(header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<void> {
    const named = this.named(header.kid)
    if (named.length === 0) return
    const { uat, jwks } = this.cache as ExportedJWKSCache
    if (this.#lookup?.uat !== uat) this.#lookup = { uat, find: createLocalJWKSet(jwks) }
    try {
      await this.#lookup.find(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw namedKeyRefusal(named)
    }
  }
}

/**
 * Why a token is refused whose kid names only the keys `named`, none of them for its algorithm.
 * jose passes over a key whose "use" is not "sig" or whose "key_ops" lack "verify": an identity
 * provider's encryption key under the kid is named as such, not as an algorithm the token did get right.
 */
export function namedKeyRefusal(named: readonly JWK[]): Error {
  if (named.every((jwk) => (jwk.use !== undefined && jwk.use !== 'sig') || notForVerifying(jwk))) {
    return new HeraldError(
      'HERALD_ERR_TOKEN_ALGORITHM',
      'the key the token names (kid) is not for verifying signatures: its "use" or "key_ops" say otherwise',
    )
  }
  return new errors.JOSEAlgNotAllowed('the key the token names is for another algorithm')
}

/** A key whose `key_ops` are given and leave out verifying. */
function notForVerifying(jwk: { key_ops?: unknown }): boolean {
  return Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')
}
