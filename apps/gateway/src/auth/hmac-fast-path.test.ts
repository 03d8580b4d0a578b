import { createHmac } from 'node:crypto'
import { type JWTPayload, type JWTVerifyOptions, jwtVerify, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { createHmacFastPath } from './hmac-fast-path.js'

const SECRET = new TextEncoder().encode('fast-path-test-secret-at-least-32-bytes')
const OTHER_SECRET = new TextEncoder().encode('another-secret-that-is-32-bytes-long!!')
const OPTIONS: JWTVerifyOptions = {
  algorithms: ['HS256', 'HS384'],
  requiredClaims: ['exp', 'sub'],
  issuer: 'https://auth.example',
  audience: 'herald',
  clockTolerance: 5,
}
const now = () => Math.floor(Date.now() / 1000)
const b64 = (text: string) => Buffer.from(text).toString('base64url')

function sign(claims: JWTPayload, header: Record<string, unknown> = { alg: 'HS256' }, secret = SECRET) {
  return new SignJWT({ iss: 'https://auth.example', aud: 'herald', sub: 'alice', exp: now() + 600, ...claims })
    .setProtectedHeader(header as { alg: string })
    .sign(secret)
}

/** Signs a raw header segment and payload text, as another library (or an attacker with the key) might. */
async function signRaw(headerJson: string, payloadText: string): Promise<string> {
  const signingInput = `${b64(headerJson)}.${b64(payloadText)}`
  return `${signingInput}.${createHmac('sha256', SECRET).update(signingInput).digest('base64url')}`
}

type Outcome = { payload: JWTPayload } | { code: string }

async function outcome(verify: () => Promise<JWTPayload> | JWTPayload): Promise<Outcome> {
  try {
    return { payload: await verify() }
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error) }
  }
}

const plain = createHmacFastPath(SECRET, OPTIONS.algorithms!, OPTIONS)

/** Every case: jose alone, and the fast path with jose behind it, must agree. */
const CASES: Array<[name: string, token: () => Promise<string>, takesFastPath: boolean]> = [
  ['valid HS256', () => sign({}), true],
  ['valid HS384', () => sign({}, { alg: 'HS384' }), true],
  ['valid, with typ and kid', () => sign({}, { alg: 'HS256', typ: 'JWT', kid: 'k1' }), true],
  ['expired', () => sign({ exp: now() - 60 }), true],
  ['expired within the clock tolerance', () => sign({ exp: now() - 2 }), true],
  ['not yet valid (nbf)', () => sign({ nbf: now() + 600 }), true],
  ['the wrong issuer', () => sign({ iss: 'https://evil.example' }), true],
  ['the wrong audience', () => sign({ aud: 'other' }), true],
  ['without exp', () => signRaw('{"alg":"HS256"}', JSON.stringify(claimsOf())), true],
  ['a payload that is not a JSON object', () => signRaw('{"alg":"HS256"}', '"just a string"'), true],
  ['signed with another secret', () => sign({}, { alg: 'HS256' }, OTHER_SECRET), false],
  ['an algorithm outside the allowlist (HS512)', () => sign({}, { alg: 'HS512' }), false],
  ['alg none', async () => `${b64('{"alg":"none"}')}.${b64(JSON.stringify({ sub: 'a', exp: now() + 60 }))}.`, false],
  [
    'a crit header',
    () => signRaw('{"alg":"HS256","crit":["exp"]}', JSON.stringify({ ...claimsOf(), exp: now() + 60 })),
    false,
  ],
  ['a header field besides alg, typ and kid', () => sign({}, { alg: 'HS256', cty: 'x' }), false],
  ['b64: false', async () => signRaw('{"alg":"HS256","b64":false,"crit":["b64"]}', '{}'), false],
  [
    'a header that is valid JSON with spaces',
    () => signRaw('{"alg": "HS256"}', JSON.stringify({ ...claimsOf(), exp: now() + 60 })),
    false,
  ],
  [
    'a non-canonical signature encoding',
    async () => {
      const token = await sign({})
      // The last of 43 characters carries 2 unused bits: set one, and the bytes stay the same.
      const last = token.at(-1)!
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      return token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1]
    },
    false,
  ],
  ['four segments', async () => `${await sign({})}.extra`, false],
  ['a signature with a non-ASCII character', async () => `${(await sign({})).slice(0, -1)}é`, false],
  [
    'a valid token with its signature segment emptied',
    async () => `${(await sign({})).split('.').slice(0, 2).join('.')}.`,
    false,
  ],
]

function claimsOf(): JWTPayload {
  return { iss: 'https://auth.example', aud: 'herald', sub: 'alice' }
}

describe('the HMAC fast path', () => {
  it.each(CASES)('agrees with jose on a token %s', async (_name, makeToken, takesFastPath) => {
    const token = await makeToken()
    const reference = await outcome(async () => (await jwtVerify(token, SECRET, OPTIONS)).payload)
    let decided: boolean
    try {
      decided = plain(token) !== undefined
    } catch {
      decided = true // a claim it refused, with jose's error
    }
    expect(decided).toBe(takesFastPath)
    const combined = await outcome(async () => plain(token) ?? (await jwtVerify(token, SECRET, OPTIONS)).payload)
    expect(combined).toEqual(reference)
  })

  it('accepts exactly the tokens jose accepts among those it decides, and refuses the rest with jose’s codes', async () => {
    const accepted = await outcome(async () => plain(await sign({ topics: ['news'] })) ?? {})
    expect(accepted).toMatchObject({ payload: { sub: 'alice', topics: ['news'] } })
    expect(await outcome(async () => plain(await sign({ exp: now() - 60 })) ?? {})).toEqual({ code: 'ERR_JWT_EXPIRED' })
  })

  it('remembers a bounded number of header segments, still deciding correctly past the bound', async () => {
    for (let i = 0; i < 100; i++) {
      const token = await sign({}, { alg: 'HS256', kid: `key-${i}` })
      expect(plain(token)).toMatchObject({ sub: 'alice' })
    }
    expect(plain(await sign({}, { alg: 'HS256' }, OTHER_SECRET))).toBeUndefined()
  })
})
