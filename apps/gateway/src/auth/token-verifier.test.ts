import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import http from 'node:http'
import { exportJWK, type JWK, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listenOnFreePort, RawSseStream, signToken, startTestGateway, type TestGateway } from '../../test/harness.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const future = () => Math.floor(Date.now() / 1000) + 3600

/** Opens a stream with the token and returns the status and the parsed body of a refusal. */
async function attempt(gateway: TestGateway, token: string | undefined): Promise<{ status: number; code?: string }> {
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` }
  const stream = new RawSseStream(gateway.eventsUrl(), headers)
  await stream.until((s) => s.status !== 0, 5000, 'a response')
  if (stream.status === 200) {
    stream.close()
    return { status: 200 }
  }
  await stream.ended
  expect(stream.headers['content-type']).toMatch(/^application\/json/)
  return { status: stream.status, code: stream.json().error.code }
}

function rsaKeys(): { privateKey: KeyObject; publicKey: KeyObject; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privateKey,
    publicKey,
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

describe('subscriber tokens with JWT_SECRET', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({ JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'herald' })
  })
  afterAll(() => gateway.close())
  const valid = { iss: 'https://auth.example', aud: 'herald' }

  it('accepts a valid token', async () => {
    expect(await attempt(gateway, await gateway.token('alice', valid))).toEqual({ status: 200 })
  })

  it.each([
    ['missing', async () => undefined, 'HERALD_ERR_TOKEN_MISSING'],
    ['not a JWT', async () => 'not-a-token', 'HERALD_ERR_TOKEN_MALFORMED'],
    ['garbage base64', async () => '@@@.###.$$$', 'HERALD_ERR_TOKEN_MALFORMED'],
    ['garbage JSON', async () => `${b64('x').slice(0, 5)}.${b64({})}.sig`, 'HERALD_ERR_TOKEN_MALFORMED'],
    ['oversized', async () => `${b64({ alg: 'HS256' })}.${'a'.repeat(9000)}.sig`, 'HERALD_ERR_TOKEN_MALFORMED'],
    [
      'a bad signature',
      async () => signToken('alice', valid, 'another-secret-that-is-32-bytes-long!!'),
      'HERALD_ERR_TOKEN_SIGNATURE',
    ],
    [
      'expired',
      async () => signToken('alice', { ...valid, expiresIn: Math.floor(Date.now() / 1000) - 10 }),
      'HERALD_ERR_TOKEN_EXPIRED',
    ],
    [
      'alg none',
      async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: future(), ...valid })}.`,
      'HERALD_ERR_TOKEN_ALGORITHM',
    ],
    [
      'the wrong issuer',
      async () => signToken('alice', { ...valid, iss: 'https://evil.example' }),
      'HERALD_ERR_TOKEN_CLAIM',
    ],
    ['no issuer', async () => signToken('alice', { aud: 'herald' }), 'HERALD_ERR_TOKEN_CLAIM'],
    ['the wrong audience', async () => signToken('alice', { ...valid, aud: 'other' }), 'HERALD_ERR_TOKEN_CLAIM'],
    ['nbf in the future', async () => signToken('alice', { ...valid, nbf: future() }), 'HERALD_ERR_TOKEN_CLAIM'],
    [
      'no exp',
      async () =>
        new SignJWT({ ...valid })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('alice')
          .sign(new TextEncoder().encode('test-secret-that-is-at-least-32-bytes-long!')),
      'HERALD_ERR_TOKEN_CLAIM',
    ],
    ['no sub', async () => signToken('', valid), 'HERALD_ERR_TOKEN_CLAIM'],
    ['an invalid sub', async () => signToken('a{b}c', valid), 'HERALD_ERR_TOKEN_CLAIM'],
    [
      'a topics claim that is not a list of grants',
      async () => signToken('alice', { ...valid, topics: 'news' }),
      'HERALD_ERR_TOKEN_CLAIM',
    ],
  ])('refuses a token that is %s with 401 and its code', async (_name, makeToken, code) => {
    expect(await attempt(gateway, await makeToken())).toEqual({ status: 401, code })
  })
})

describe('subscriber tokens with JWT_PUBLIC_KEY', () => {
  const keys = rsaKeys()
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({ JWT_SECRET: '', JWT_PUBLIC_KEY: keys.pem })
  })
  afterAll(() => gateway.close())

  it('accepts RS256 tokens signed by the private key', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(keys.privateKey)
    expect(await attempt(gateway, token)).toEqual({ status: 200 })
  })

  it('refuses HS256 tokens keyed with the public key (algorithm confusion)', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(keys.pem))
    expect(await attempt(gateway, token)).toEqual({
      status: 401,
      code: 'HERALD_ERR_TOKEN_ALGORITHM',
    })
  })

  it('refuses tokens signed by another key', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(rsaKeys().privateKey)
    expect(await attempt(gateway, token)).toEqual({
      status: 401,
      code: 'HERALD_ERR_TOKEN_SIGNATURE',
    })
  })
})

describe('subscriber tokens with JWT_JWKS_URL', () => {
  const [first, second] = [rsaKeys(), rsaKeys()]
  const published: JWK[] = []
  let fetches = 0
  const jwksServer = http.createServer((_request, response) => {
    fetches++
    response.writeHead(200, { 'Content-Type': 'application/json' })
    response.end(JSON.stringify({ keys: published }))
  })
  let gateway: TestGateway
  const sign = (keys: ReturnType<typeof rsaKeys>, kid: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(keys.privateKey)

  beforeAll(async () => {
    published.push({ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' })
    const url = await listenOnFreePort(jwksServer)
    gateway = await startTestGateway({
      JWT_SECRET: '',
      JWT_JWKS_URL: `${url}/jwks.json`,
      JWT_JWKS_COOLDOWN_MS: '0',
    })
  })
  afterAll(async () => {
    await gateway.close()
    jwksServer.close()
  })

  it('verifies with the key named by kid, and caches the key set', async () => {
    expect(await attempt(gateway, await sign(first, 'k1'))).toEqual({ status: 200 })
    const before = fetches
    expect(await attempt(gateway, await sign(first, 'k1'))).toEqual({ status: 200 })
    expect(fetches).toBe(before)
  })

  it('refuses an unknown kid with 401, then accepts it once the key set has it (rotation)', async () => {
    const rotated = await sign(second, 'k2')
    expect(await attempt(gateway, rotated)).toEqual({
      status: 401,
      code: 'HERALD_ERR_TOKEN_KEY_UNKNOWN',
    })
    published.push({ ...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' })
    expect(await attempt(gateway, rotated)).toEqual({ status: 200 })
  })

  it('refuses a kid path trick and a token signed by a key outside the set', async () => {
    expect(await attempt(gateway, await sign(rsaKeys(), '../../etc/passwd'))).toEqual({
      status: 401,
      code: 'HERALD_ERR_TOKEN_KEY_UNKNOWN',
    })
    expect(await attempt(gateway, await sign(rsaKeys(), 'k1'))).toEqual({
      status: 401,
      code: 'HERALD_ERR_TOKEN_SIGNATURE',
    })
  })
})
