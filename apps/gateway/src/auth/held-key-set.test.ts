import { generateKeyPairSync } from 'node:crypto'
import { errors, exportJWK, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { HeraldError } from '../errors/herald-error.js'
import { HeldKeySet } from './held-key-set.js'

const rsaJwk = async (kid: string, extra: Partial<JWK> = {}): Promise<JWK> => ({
  ...(await exportJWK(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)),
  kid,
  alg: 'RS256',
  ...extra,
})

/** A held set as jose stores one on a fetch. */
async function heldWith(keys: JWK[]): Promise<HeldKeySet> {
  const held = new HeldKeySet()
  Object.assign(held.cache, { uat: Date.now(), jwks: { keys } })
  return held
}

const header = (alg: string, kid?: string) => ({ alg, ...(kid === undefined ? {} : { kid }) })
const token = { payload: '', signature: '' }

describe('HeldKeySet', () => {
  it('names nothing before jose has stored a set, nor for a token without a kid', async () => {
    expect(new HeldKeySet().named('k1')).toEqual([])
    expect((await heldWith([await rsaJwk('k1')])).named(undefined)).toEqual([])
  })

  it('lets a token through whose kid the set lacks, or whose key fits it: jose decides those', async () => {
    const held = await heldWith([await rsaJwk('k1')])
    await expect(held.refuseMismatch(header('RS256', 'k2'), token)).resolves.toBeUndefined()
    await expect(held.refuseMismatch(header('RS256', 'k1'), token)).resolves.toBeUndefined()
  })

  it("refuses a kid the set has under another algorithm, or one not for signatures, as the token's fault", async () => {
    const held = await heldWith([
      await rsaJwk('k1'),
      await rsaJwk('k-enc', { use: 'enc' }),
      await rsaJwk('k-wrap', { key_ops: ['wrapKey'] }),
    ])
    await expect(held.refuseMismatch(header('PS256', 'k1'), token)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed)
    for (const kid of ['k-enc', 'k-wrap']) {
      const refusal = await held.refuseMismatch(header('RS256', kid), token).catch((error: unknown) => error)
      expect(refusal).toBeInstanceOf(HeraldError)
      expect(refusal).toMatchObject({ code: 'HERALD_ERR_TOKEN_ALGORITHM', message: /not for verifying signatures/ })
    }
  })

  it('looks keys up in the set jose stored last', async () => {
    const held = await heldWith([await rsaJwk('k1')])
    await expect(held.refuseMismatch(header('PS256', 'k1'), token)).rejects.toThrow()
    Object.assign(held.cache, { uat: Date.now() + 1, jwks: { keys: [await rsaJwk('k1', { alg: 'PS256' })] } })
    await expect(held.refuseMismatch(header('PS256', 'k1'), token)).resolves.toBeUndefined()
  })
})
