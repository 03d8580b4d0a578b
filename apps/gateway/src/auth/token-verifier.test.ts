import { constants, createHmac, createSign, generateKeyPairSync, type KeyObject, sign as signWith } from 'node:crypto'
import http from 'node:http'
import { exportJWK, type JWK, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  listenOnFreePort,
  RawSseStream,
  recordingLogger,
  signToken,
  startTestGateway,
  TEST_API_KEY,
  TEST_SECRET,
  type TestGateway,
  testGatewayConfig,
  withTimeout,
} from '../../test/harness.js'
import { loadConfig } from '../config/config.js'
import { HeraldError } from '../errors/herald-error.js'
import { errorReply } from '../http/error-reply.js'
import { startGateway } from '../server.js'
import {
  createTokenVerifier,
  JWKS_MAX_AGE_MS,
  JWKS_REFRESH_WAIT_MS,
  JWKS_STALE_LIMIT_MS,
  type KeySetFetchObserver,
  type TokenVerifier,
} from './token-verifier.js'

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

type RsaKeys = ReturnType<typeof rsaKeys>

/** An RS256 token for `sub` (alice), with `kid` in its header only if given. */
function signRs256(keys: RsaKeys, claims: { kid?: string; sub?: string; exp?: number } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader(claims.kid === undefined ? { alg: 'RS256' } : { alg: 'RS256', kid: claims.kid })
    .setSubject(claims.sub ?? 'alice')
    .setExpirationTime(claims.exp ?? '1h')
    .sign(keys.privateKey)
}

/** The public half of `keys` as a JWKS entry. */
async function jwkOf(keys: RsaKeys, kid: string): Promise<JWK> {
  return { ...(await exportJWK(keys.publicKey)), kid, alg: 'RS256', use: 'sig' }
}

/**
 * A JWKS endpoint that serves `keys` as they are at each fetch, and counts the fetches. `hold()`
 * keeps the next answers back until `open()`; `requested` resolves once one is asked for.
 */
function servedKeySet() {
  let gate: { requested: () => void; opened: Promise<void> } | undefined
  const server = http.createServer(async (_request, response) => {
    served.fetches++
    if (gate !== undefined) {
      gate.requested()
      await gate.opened
    }
    response.writeHead(200, { 'Content-Type': 'application/json' })
    response.end(JSON.stringify({ keys: served.keys }))
  })
  const served = {
    keys: [] as JWK[],
    fetches: 0,
    listen: async () => `${await listenOnFreePort(server)}/jwks.json`,
    close: () => void server.close(),
    hold(): { requested: Promise<void>; open(): void } {
      let open!: () => void
      let requested!: () => void
      const opened = new Promise<void>((resolve) => {
        open = resolve
      })
      const asked = new Promise<void>((resolve) => {
        requested = resolve
      })
      gate = { requested, opened }
      return {
        requested: asked,
        open: () => {
          gate = undefined
          open()
        },
      }
    },
  }
  return served
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
      // JSON reads 1e400 as Infinity: such a token would never expire, nor its stream close.
      'one whose exp overflows to infinity',
      async () => {
        const signingInput = `${b64({ alg: 'HS256' })}.${Buffer.from(
          `{"sub":"alice","iss":"${valid.iss}","aud":"${valid.aud}","exp":1e400}`,
        ).toString('base64url')}`
        return `${signingInput}.${createHmac('sha256', TEST_SECRET).update(signingInput).digest('base64url')}`
      },
      'HERALD_ERR_TOKEN_CLAIM',
    ],
    [
      // JSON.parse keeps the last: an issuer that read the first signed alice and opened bob's stream.
      'one that names a claim twice',
      async () => {
        const signingInput = `${b64({ alg: 'HS256' })}.${Buffer.from(
          `{"sub":"alice","sub":"bob","iss":"${valid.iss}","aud":"${valid.aud}","exp":${future()}}`,
        ).toString('base64url')}`
        return `${signingInput}.${createHmac('sha256', TEST_SECRET).update(signingInput).digest('base64url')}`
      },
      'HERALD_ERR_TOKEN_CLAIM',
    ],
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

  it('refuses a token the private key signed that names a claim twice', async () => {
    const signingInput = `${b64({ alg: 'RS256' })}.${Buffer.from(
      `{"sub":"alice","exp":${future()},"sub":"bob"}`,
    ).toString('base64url')}`
    const token = `${signingInput}.${createSign('RSA-SHA256').update(signingInput).sign(keys.privateKey, 'base64url')}`
    expect(await attempt(gateway, token)).toEqual({ status: 401, code: 'HERALD_ERR_TOKEN_CLAIM' })
  })
})

/**
 * A PS token signed by node:crypto with the RSA-PSS key itself, as an issuer holding one would:
 * jose cannot sign with such a key on Node 20 (it goes through a JWK, which Node cannot make).
 */
function signPss(privateKey: KeyObject, alg: string, claims: Record<string, unknown> = {}): string {
  const bits = Number(alg.slice(2))
  const signingInput = `${b64({ alg })}.${b64({ sub: 'alice', exp: future(), ...claims })}`
  const signature = signWith(`sha${bits}`, Buffer.from(signingInput), {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: bits / 8,
  })
  return `${signingInput}.${signature.toString('base64url')}`
}

describe('subscriber tokens with an RSA-PSS JWT_PUBLIC_KEY', () => {
  // Restricted to SHA-256 (for MGF1 too) and a salt of 32 bytes or more: PS256 only.
  const restricted = generateKeyPairSync('rsa-pss', {
    modulusLength: 2048,
    hashAlgorithm: 'sha256',
    mgf1HashAlgorithm: 'sha256',
    // @types/node 20 types it as a string; Node wants the number of bytes.
    saltLength: 32 as unknown as string,
  })
  const unrestricted = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
  const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString()
  let gateway: TestGateway
  let open: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({ JWT_SECRET: '', JWT_PUBLIC_KEY: pem(restricted.publicKey) })
    open = await startTestGateway({ JWT_SECRET: '', JWT_PUBLIC_KEY: pem(unrestricted.publicKey) })
  })
  afterAll(async () => {
    await gateway.close()
    await open.close()
  })

  it('accepts a PS256 token signed by the private key', async () => {
    expect(await attempt(gateway, signPss(restricted.privateKey, 'PS256'))).toEqual({ status: 200 })
  })

  it('accepts PS256, PS384 and PS512 from a key that restricts nothing', async () => {
    for (const alg of ['PS256', 'PS384', 'PS512']) {
      expect(await attempt(open, signPss(unrestricted.privateKey, alg)), alg).toEqual({ status: 200 })
    }
  })

  it('refuses an algorithm the key does not allow, and a token signed by another key', async () => {
    // The key allows SHA-256 only: a PS384 token is refused for its algorithm, whoever signed it.
    for (const token of [
      signPss(unrestricted.privateKey, 'PS384'),
      `${b64({ alg: 'RS256' })}.${b64({ sub: 'alice', exp: future() })}.${createSign('RSA-SHA256').update('x').sign(rsaKeys().privateKey).toString('base64url')}`,
    ]) {
      expect(await attempt(gateway, token)).toEqual({ status: 401, code: 'HERALD_ERR_TOKEN_ALGORITHM' })
    }
    expect(await attempt(gateway, signPss(unrestricted.privateKey, 'PS256'))).toEqual({
      status: 401,
      code: 'HERALD_ERR_TOKEN_SIGNATURE',
    })
  })
})

describe('a verification that fails for a reason of the node, not of the token', () => {
  it("is an internal error, logged, not the client's malformed token", async () => {
    // jose will not verify with an RSA key under 2048 bits (configuration refuses one; built
    // here directly): it raises a TypeError, which says nothing about the token.
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const config = loadConfig({ env: { JWT_SECRET: TEST_SECRET, PUBLISH_API_KEY: TEST_API_KEY }, argv: [] })
    const verify = createTokenVerifier({
      ...config.jwt,
      key: { kind: 'public-key', key: small.publicKey, algorithms: ['RS256'] },
    })
    const signingInput = `${b64({ alg: 'RS256' })}.${b64({ sub: 'alice', exp: future() })}`
    const token = `${signingInput}.${createSign('RSA-SHA256').update(signingInput).sign(small.privateKey).toString('base64url')}`
    const failure = await verify(token).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).not.toBeInstanceOf(HeraldError)
    const { logger, lines: logged } = recordingLogger('info')
    expect(errorReply(failure, logger)).toEqual({
      status: 500,
      body: { error: { code: 'HERALD_ERR_INTERNAL', message: 'internal error' } },
      headers: {},
    })
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: 50,
        msg: 'unhandled error',
        err: expect.objectContaining({ stack: expect.any(String) }),
      }),
    ])
  })

  it('is answered 500 and counted as an internal refusal, not as a bad token', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const config = testGatewayConfig()
    const gateway = await startGateway({
      ...config,
      jwt: { ...config.jwt, key: { kind: 'public-key', key: small.publicKey, algorithms: ['RS256'] } },
    })
    try {
      const signingInput = `${b64({ alg: 'RS256' })}.${b64({ sub: 'alice', exp: future() })}`
      const token = `${signingInput}.${createSign('RSA-SHA256').update(signingInput).sign(small.privateKey).toString('base64url')}`
      const stream = new RawSseStream(`${gateway.url}/v1/events`, { Authorization: `Bearer ${token}` })
      await stream.ended
      expect([stream.status, stream.json().error.code]).toEqual([500, 'HERALD_ERR_INTERNAL'])
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
      expect(metrics).toMatch(/^herald_connections_rejected_total\{reason="internal"\} 1$/m)
      expect(metrics).toMatch(/^herald_connections_rejected_total\{reason="auth"\} 0$/m)
    } finally {
      await gateway.close()
    }
  })
})

describe('subscriber tokens with JWT_JWKS_URL', () => {
  const [first, second] = [rsaKeys(), rsaKeys()]
  const keySet = servedKeySet()
  let gateway: TestGateway
  const sign = (keys: RsaKeys, kid: string) => signRs256(keys, { kid })

  beforeAll(async () => {
    keySet.keys.push(await jwkOf(first, 'k1'))
    gateway = await startTestGateway({
      JWT_SECRET: '',
      JWT_JWKS_URL: await keySet.listen(),
      JWT_JWKS_COOLDOWN_MS: '0',
    })
  })
  afterAll(async () => {
    await gateway.close()
    keySet.close()
  })

  it('verifies with the key named by kid, and caches the key set', async () => {
    expect(await attempt(gateway, await sign(first, 'k1'))).toEqual({ status: 200 })
    const before = keySet.fetches
    expect(await attempt(gateway, await sign(first, 'k1'))).toEqual({ status: 200 })
    expect(keySet.fetches).toBe(before)
  })

  it('refuses an unknown kid with 401, then accepts it once the key set has it (rotation)', async () => {
    const rotated = await sign(second, 'k2')
    expect(await attempt(gateway, rotated)).toEqual({
      status: 401,
      code: 'HERALD_ERR_TOKEN_KEY_UNKNOWN',
    })
    keySet.keys.push(await jwkOf(second, 'k2'))
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

describe('tokens without a kid while the JWKS holds two keys of their algorithm (rotation)', () => {
  const [current, next, outsider] = [rsaKeys(), rsaKeys(), rsaKeys()]
  const keySet = servedKeySet()
  let jwksUrl: string
  const sign = signRs256

  /** A verifier of its own, so nothing verified by one test is cached for the next. */
  function verifier(): TokenVerifier {
    const config = loadConfig({
      env: { JWT_JWKS_URL: jwksUrl, JWT_JWKS_COOLDOWN_MS: '0', PUBLISH_API_KEY: TEST_API_KEY },
      argv: [],
    })
    return createTokenVerifier(config.jwt)
  }

  beforeAll(async () => {
    keySet.keys.push(await jwkOf(current, 'k1'), await jwkOf(next, 'k2'))
    jwksUrl = await keySet.listen()
  })
  afterAll(() => keySet.close())

  it('accepts a token signed by either key, whichever comes first in the set', async () => {
    const verify = verifier()
    expect((await verify(await sign(next, { sub: 'bob' }))).userId).toBe('bob')
    expect((await verify(await sign(current, { sub: 'carol' }))).userId).toBe('carol')
  })

  it('streams for a token signed by the second key (200, not 401)', async () => {
    const gateway = await startTestGateway({ JWT_SECRET: '', JWT_JWKS_URL: jwksUrl, JWT_JWKS_COOLDOWN_MS: '0' })
    try {
      expect(await attempt(gateway, await sign(next))).toEqual({ status: 200 })
    } finally {
      await gateway.close()
    }
  })

  it('refuses a token signed by a key outside the set as a bad signature', async () => {
    expect(await codeOf(verifier()(await sign(outsider)))).toBe('HERALD_ERR_TOKEN_SIGNATURE')
  })

  it('still checks the claims of a token one of the keys signed', async () => {
    const expired = await sign(next, { exp: Math.floor(Date.now() / 1000) - 3600 })
    expect(await codeOf(verifier()(expired))).toBe('HERALD_ERR_TOKEN_EXPIRED')
  })

  it('still refuses a kid the set lacks as an unknown key, after refetching the set', async () => {
    const verify = verifier()
    expect((await verify(await sign(current, { kid: 'k1' }))).userId).toBe('alice')
    const before = keySet.fetches
    expect(await codeOf(verify(await sign(outsider, { kid: 'k3' })))).toBe('HERALD_ERR_TOKEN_KEY_UNKNOWN')
    expect(keySet.fetches).toBe(before + 1)
  })
})

describe('a stream whose token is being verified when the node starts to drain', () => {
  it('is turned away as draining, not opened and then cut without a retry hint', async () => {
    const [current, next] = [rsaKeys(), rsaKeys()]
    const keySet = servedKeySet()
    keySet.keys.push(await jwkOf(current, 'k1'))
    const gateway = await startTestGateway({
      JWT_SECRET: '',
      JWT_JWKS_URL: await keySet.listen(),
      JWT_JWKS_COOLDOWN_MS: '0',
    })
    try {
      // A kid the gateway has not seen: verifying the token waits on a refetch, held here.
      keySet.keys.push(await jwkOf(next, 'k2'))
      const held = keySet.hold()
      const stream = new RawSseStream(gateway.eventsUrl(), {
        Authorization: `Bearer ${await signRs256(next, { kid: 'k2' })}`,
      })
      await held.requested
      const drained = gateway.drain()
      held.open()
      await withTimeout(stream.ended, 5_000, () => `stream still open: ${JSON.stringify(stream.text)}`)
      expect(stream.status).toBe(200)
      expect(stream.events.map((e) => [e.type, JSON.parse(e.data).reason])).toEqual([
        ['herald.unavailable', 'draining'],
      ])
      await drained
    } finally {
      await gateway.close()
      keySet.close()
    }
  })
})

describe('subscriber tokens when the JWKS cannot be fetched', () => {
  const keys = rsaKeys()
  let published: JWK
  /** How the key-set server answers: the key set, or one way of failing. */
  let answer:
    | 'ok'
    | '500'
    | '404'
    | 'invalid JSON'
    | '{"keys":"x"}'
    | 'over 1 MiB'
    | 'over 1 MiB, chunked'
    | 'nothing' = 'ok'
  /** Key set requests the server has had. */
  let requests = 0
  /** Requests answered 'nothing' so far, until the test answers them with `answerHeld`. */
  const held: http.ServerResponse[] = []
  /** Held requests the client gave up on before they were answered. */
  let abandoned = 0
  const keySetBody = () =>
    JSON.stringify({ keys: ahead ? [...alsoPublished, published] : [published, ...alsoPublished] })
  const answerHeld = () => {
    for (const response of held.splice(0)) {
      response.writeHead(200, { 'Content-Type': 'application/json' })
      response.end(keySetBody())
    }
  }
  const jwksServer = http.createServer((_request, response) => {
    requests++
    if (answer === 'nothing') {
      held.push(response)
      response.on('close', () => {
        if (!response.writableEnded) abandoned++
      })
      return
    }
    if (answer === '500' || answer === '404') {
      response.writeHead(Number(answer), { 'Content-Type': 'text/plain' })
      response.end('no keys here')
      return
    }
    if (answer === 'over 1 MiB' || answer === 'over 1 MiB, chunked') {
      // A usable set, but padded past the bound with keys no token names.
      const padding = Array.from({ length: 1100 }, (_, i) => ({ kty: 'oct', kid: `pad${i}`, k: 'A'.repeat(1000) }))
      const body = JSON.stringify({ keys: [published, ...padding] })
      if (answer === 'over 1 MiB') {
        response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
        response.end(body)
      } else {
        response.writeHead(200, { 'Content-Type': 'application/json' })
        for (let at = 0; at < body.length; at += 64 * 1024) response.write(body.slice(at, at + 64 * 1024))
        response.end()
      }
      return
    }
    response.writeHead(200, { 'Content-Type': 'application/json' })
    if (answer === 'invalid JSON') response.end('{"keys": [')
    else if (answer === '{"keys":"x"}') response.end(answer)
    else response.end(keySetBody())
  })
  /** Keys served besides k1, for a test's rotation; `ahead` serves them before it. */
  let alsoPublished: JWK[] = []
  let ahead = false
  let jwksUrl: string
  let logged: string[] = []

  const sign = (kid: string, sub = 'alice') => signRs256(keys, { kid, sub })
  /** A token for alice signed with k1's private key, naming k1 under `alg` (k1 is served as RS256). */
  const signNamingK1As = (alg: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg, kid: 'k1' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(keys.privateKey)

  /** The node's monotonic clock (backoff, the set's age) and the wall clock (token times), both faked. */
  function fakeClocks(): void {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] })
  }

  /** Moves both clocks on by `ms`. */
  function advance(ms: number): void {
    if (!vi.isFakeTimers()) fakeClocks()
    vi.advanceTimersByTime(ms)
  }

  /** Past the second a failed fetch makes the next wait, whatever the cooldown. */
  function pastFailureBackoff(): void {
    advance(1000)
  }

  /** A verifier of its own, so each test starts with no key set fetched and nothing cached. */
  function verifier(url = jwksUrl, cooldownMs = 0, fetches?: KeySetFetchObserver): TokenVerifier {
    const config = loadConfig({
      env: { JWT_JWKS_URL: url, JWT_JWKS_COOLDOWN_MS: String(cooldownMs), PUBLISH_API_KEY: TEST_API_KEY },
      argv: [],
    })
    return createTokenVerifier(config.jwt, recordingLogger('info', logged).logger, fetches)
  }

  /** An observer that notes each fetch's outcome: 'failed', or the time of a usable set. */
  function fetchOutcomes(): { outcomes: Array<number | 'failed'>; observer: KeySetFetchObserver } {
    const outcomes: Array<number | 'failed'> = []
    return {
      outcomes,
      observer: { keySetFetched: (atMs) => outcomes.push(atMs), keySetFetchFailed: () => outcomes.push('failed') },
    }
  }

  beforeAll(async () => {
    published = await jwkOf(keys, 'k1')
    jwksUrl = `${await listenOnFreePort(jwksServer)}/jwks.json`
  })
  afterEach(() => {
    answer = 'ok'
    requests = 0
    for (const response of held.splice(0)) response.destroy()
    abandoned = 0
    alsoPublished = []
    ahead = false
    logged = []
    vi.useRealTimers()
  })
  afterAll(() => {
    jwksServer.close()
  })

  it.each(['500', '404', 'invalid JSON', '{"keys":"x"}'] as const)(
    'reports keys unavailable for a valid token while the JWKS answers %s, and verifies it once it answers 200',
    async (failure) => {
      const verify = verifier()
      const token = await sign('k1')
      answer = failure
      expect(await codeOf(verify(token))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
      answer = 'ok'
      pastFailureBackoff()
      expect((await verify(token)).userId).toBe('alice')
    },
  )

  it.each(['over 1 MiB', 'over 1 MiB, chunked'] as const)(
    'refuses a key set %s as a failed fetch: keys unavailable, logged once, and verified once it is back to size',
    async (oversize) => {
      const verify = verifier()
      const tokens = await Promise.all(['a', 'b'].map((sub) => sign('k1', sub)))
      answer = oversize
      for (const token of tokens) expect(await codeOf(verify(token))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
      const lines = logged.map((line) => JSON.parse(line))
      expect(lines).toEqual([
        expect.objectContaining({ level: 40, jwks: jwksUrl, err: 'the key set is larger than 1048576 bytes' }),
      ])
      answer = 'ok'
      advance(60_000)
      expect((await verify(tokens[0]!)).userId).toBe('a')
    },
  )

  it('reports keys unavailable when nothing listens at the JWKS URL', async () => {
    const closed = http.createServer()
    const url = await listenOnFreePort(closed)
    await new Promise((resolve) => closed.close(resolve))
    const { outcomes, observer } = fetchOutcomes()
    expect(await codeOf(verifier(`${url}/jwks.json`, 0, observer)(await sign('k1')))).toBe(
      'HERALD_ERR_KEYS_UNAVAILABLE',
    )
    expect(outcomes).toEqual(['failed'])
  })

  it('reports keys unavailable for an unknown kid while the refetch fails, and still accepts known keys', async () => {
    const verify = verifier()
    expect((await verify(await sign('k1', 'alice'))).userId).toBe('alice')
    answer = '500'
    expect(await codeOf(verify(await sign('k2')))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    expect((await verify(await sign('k1', 'bob'))).userId).toBe('bob')
    answer = 'ok'
    pastFailureBackoff()
    expect(await codeOf(verify(await sign('k2')))).toBe('HERALD_ERR_TOKEN_KEY_UNKNOWN')
  })

  it('fetches no more than a backoff allows while fetches fail, whatever the tokens: 1 s, then twice as long', async () => {
    fakeClocks()
    const { outcomes, observer } = fetchOutcomes()
    const verify = verifier(jwksUrl, 30_000, observer)
    answer = '500'
    // No set yet: every token would need one. Then forged kids, each a refetch to jose.
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, n) => sign(n % 2 === 0 ? 'k1' : `forged-${n}`)))
    const shedAll = async () => {
      for (const token of tokens) expect(await codeOf(verify(token))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    }
    await shedAll()
    expect(requests).toBe(1)
    advance(999)
    await shedAll()
    expect(requests).toBe(1)
    advance(1)
    await shedAll()
    expect(requests).toBe(2)
    advance(1999)
    await shedAll()
    expect(requests).toBe(2)
    // The set is back: fetched once the wait is over, and a known key verifies again.
    answer = 'ok'
    advance(1)
    const backAtMs = Date.now()
    expect((await verify(tokens[0]!)).userId).toBe('alice')
    expect(requests).toBe(3)
    // With the set cached, the IdP failing again: known keys go on, forged kids fetch no more.
    answer = '500'
    advance(30_001)
    await Promise.all(tokens.map((token) => verify(token).catch(() => undefined)))
    expect((await verify(tokens[2]!)).userId).toBe('alice')
    expect(requests).toBe(4)
    // The metrics hear of each fetch made, none held back: what herald_key_set_* export.
    expect(outcomes).toEqual(['failed', 'failed', backAtMs, 'failed'])
  })

  it('waits 1 s after a failed fetch with a cooldown of 0 too: forged kids cannot make a fetch each', async () => {
    fakeClocks()
    const verify = verifier(jwksUrl, 0)
    answer = '500'
    const forged = await Promise.all(Array.from({ length: 20 }, (_, n) => sign(`forged-${n}`)))
    for (const token of forged) expect(await codeOf(verify(token))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    expect(requests).toBe(1)
    advance(1000)
    for (const token of forged) expect(await codeOf(verify(token))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    expect(requests).toBe(2)
  })

  it('waits its backoff on its own clock: a wall clock stepped back an hour after a failed fetch holds no fetch back', async () => {
    fakeClocks()
    const verify = verifier()
    answer = '500'
    expect(await codeOf(verify(await sign('k1')))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    answer = 'ok'
    vi.setSystemTime(Date.now() - 60 * 60_000)
    pastFailureBackoff()
    expect((await verify(await sign('k1'))).userId).toBe('alice')
    expect(requests).toBe(2)
  })

  it('ages its set on its own clock: a wall clock stepped a day on neither refetches it nor retires it while the issuer is down', async () => {
    fakeClocks()
    const verify = verifier()
    expect((await verify(await sign('k1', 'alice'))).userId).toBe('alice')
    answer = '500'
    vi.setSystemTime(Date.now() + JWKS_STALE_LIMIT_MS)
    expect((await verify(await sign('k1', 'bob'))).userId).toBe('bob')
    expect(requests).toBe(1)
    expect(logged).toEqual([])
  })

  it('still refuses malformed tokens as malformed while the JWKS fails', async () => {
    const verify = verifier()
    answer = '500'
    const [header, , signature] = (await sign('k1')).split('.')
    for (const token of [
      'not-a-token',
      `${header}.${b64('x').slice(0, 5)}.${signature}`,
      `${header}.${b64(['not', 'claims'])}.${signature}`,
      `${header}.${b64({ sub: 'alice', exp: future() })}.@@@`,
    ]) {
      expect(await codeOf(verify(token))).toBe('HERALD_ERR_TOKEN_MALFORMED')
    }
  })

  it('logs a warning once per outage, never the token, and a line when the keys are back', async () => {
    const verify = verifier()
    const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => sign('k1', sub)))
    answer = '500'
    for (const token of tokens) expect(await codeOf(verify(token))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    answer = 'ok'
    pastFailureBackoff()
    await verify(tokens[0]!)
    const lines = logged.map((line) => JSON.parse(line))
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        jwks: jwksUrl,
        msg: expect.stringMatching(/^verification keys cannot be fetched/),
      }),
      expect.objectContaining({ level: 30, jwks: jwksUrl, refused: 2, msg: expect.stringMatching(/available again/) }),
    ])
    for (const token of tokens) expect(logged.join('')).not.toContain(token.split('.')[2])
  })

  it('does not log the end of an outage for a key from the cached set while fetches still fail', async () => {
    const verify = verifier()
    expect((await verify(await sign('k1', 'alice'))).userId).toBe('alice')
    answer = '500'
    expect(await codeOf(verify(await sign('k2')))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    expect((await verify(await sign('k1', 'bob'))).userId).toBe('bob')
    expect(await codeOf(verify(await sign('k2', 'carol')))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    answer = 'ok'
    pastFailureBackoff()
    expect(await codeOf(verify(await sign('k2', 'dave')))).toBe('HERALD_ERR_TOKEN_KEY_UNKNOWN')
    const lines = logged.map((line) => JSON.parse(line))
    expect(lines.map((line) => [line.level, line.refused])).toEqual([
      [40, 1],
      [30, 1],
    ])
  })

  it('sheds a kid the set lacked when it was fetched within the cooldown, and verifies it once it is fetched again', async () => {
    fakeClocks()
    const verify = verifier(jwksUrl, 30_000)
    expect((await verify(await sign('k1'))).userId).toBe('alice')
    // A key published since the last fetch, which the cooldown keeps the node from seeing yet:
    // a 401 would stop a native EventSource for good, though the token is good.
    const rotated = rsaKeys()
    alsoPublished = [await jwkOf(rotated, 'k2')]
    const token = await signRs256(rotated, { kid: 'k2', sub: 'bob' })
    expect(await codeOf(verify(token))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    advance(30_001)
    expect((await verify(token)).userId).toBe('bob')
    // Past the cooldown, a kid the set lacks is fetched for, and then refused.
    advance(30_001)
    expect(await codeOf(verify(await sign('k3')))).toBe('HERALD_ERR_TOKEN_KEY_UNKNOWN')
    // An outage was never logged: the set was there all along.
    expect(logged).toEqual([])
  })

  it("refuses a kid the set has under another algorithm, and a kid that is no string, as the token's fault: no shed, no fetch", async () => {
    const verify = verifier(jwksUrl, 30_000)
    expect((await verify(await sign('k1'))).userId).toBe('alice')
    const fetches = requests
    // k1 is served with "alg": "RS256": a PS256 token naming it matches no key, which was shed
    // as a key the set might have gained since, though the set has k1 (found by probe J).
    const otherAlgorithm = await signNamingK1As('PS256')
    expect(await codeOf(verify(otherAlgorithm))).toBe('HERALD_ERR_TOKEN_ALGORITHM')
    expect(await codeOf(verify(otherAlgorithm))).toBe('HERALD_ERR_TOKEN_ALGORITHM')
    const numericKid = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 7 as unknown as string })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(keys.privateKey)
    expect(await codeOf(verify(numericKid))).toBe('HERALD_ERR_TOKEN_MALFORMED')
    expect(requests).toBe(fetches)
  })

  it('refuses a kid the set has under another algorithm or not for signatures past the cooldown too: no fetch, and a 401 while the issuer is down', async () => {
    fakeClocks()
    const encryptionKeys = rsaKeys()
    alsoPublished = [{ ...(await jwkOf(encryptionKeys, 'k-enc')), use: 'enc' }]
    const verify = verifier(jwksUrl, 1_000)
    expect((await verify(await sign('k1'))).userId).toBe('alice')
    const fetches = requests
    const otherAlgorithm = await signNamingK1As('PS256')
    const notForSignatures = await signRs256(encryptionKeys, { kid: 'k-enc', sub: 'alice' })
    for (const issuer of ['ok', '500'] as const) {
      answer = issuer
      advance(1_001)
      expect(await codeOf(verify(otherAlgorithm)), issuer).toBe('HERALD_ERR_TOKEN_ALGORITHM')
      advance(1_001)
      expect(await codeOf(verify(notForSignatures)), issuer).toBe('HERALD_ERR_TOKEN_ALGORITHM')
    }
    expect(requests).toBe(fetches)
    // A good token still verifies from the set in hand.
    expect((await verify(await sign('k1', 'bob'))).userId).toBe('bob')
  })

  it('names a kid whose key is not for signatures ("use": "enc", or key_ops without "verify") as such, not as a wrong algorithm', async () => {
    const encryptionKeys = rsaKeys()
    const token = await signRs256(encryptionKeys, { kid: 'k-enc', sub: 'alice' })
    for (const marking of [{ use: 'enc' }, { key_ops: ['encrypt', 'wrapKey'] }]) {
      alsoPublished = [{ ...(await jwkOf(encryptionKeys, 'k-enc')), ...marking }]
      const failure = await verifier()(token).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(HeraldError)
      expect((failure as HeraldError).code).toBe('HERALD_ERR_TOKEN_ALGORITHM')
      expect((failure as HeraldError).message).toMatch(/not for verifying signatures/)
    }
    // The same key marked for signatures verifies: the marking was the only fault.
    alsoPublished = [{ ...(await jwkOf(encryptionKeys, 'k-enc')), use: 'sig', key_ops: ['verify'] }]
    expect((await verifier()(token)).userId).toBe('alice')
  })

  it('stops admitting tokens of a key withdrawn from the set within JWKS_MAX_AGE_MS, new and verified alike', async () => {
    fakeClocks()
    const verify = verifier()
    const withdrawn = rsaKeys()
    alsoPublished = [await jwkOf(withdrawn, 'k2')]
    const verified = await signRs256(withdrawn, { kid: 'k2', sub: 'alice' })
    expect((await verify(verified)).userId).toBe('alice')
    alsoPublished = []
    expect(JWKS_MAX_AGE_MS).toBe(5 * 60_000)
    advance(JWKS_MAX_AGE_MS + 1)
    expect(await codeOf(verify(await signRs256(withdrawn, { kid: 'k2', sub: 'bob' })))).toBe(
      'HERALD_ERR_TOKEN_KEY_UNKNOWN',
    )
    expect(await codeOf(verify(verified))).toBe('HERALD_ERR_TOKEN_KEY_UNKNOWN')
  })

  it('does not hold a stream for a refetch the issuer leaves unanswered: the set in hand verifies meanwhile', async () => {
    fakeClocks()
    const verify = verifier()
    const withdrawn = rsaKeys()
    alsoPublished = [await jwkOf(withdrawn, 'k2')]
    expect((await verify(await signRs256(withdrawn, { kid: 'k2', sub: 'alice' }))).userId).toBe('alice')
    answer = 'nothing'
    advance(JWKS_MAX_AGE_MS + 1)
    // Verified within JWKS_REFRESH_WAIT_MS, while the refetch it started is still unanswered and
    // still waited for (a refresh awaited whole, as before, held the stream until the fetch gave up).
    expect(JWKS_REFRESH_WAIT_MS).toBe(500)
    const tokens = await Promise.all(['bob', 'carol'].map((sub) => signRs256(withdrawn, { kid: 'k2', sub })))
    expect((await Promise.all(tokens.map(verify))).map(({ userId }) => userId)).toEqual(['bob', 'carol'])
    expect([requests, held.length, abandoned]).toEqual([2, 1, 0])
    // The refetch still counts once the issuer answers: here, k2 was withdrawn meanwhile.
    alsoPublished = []
    answer = 'ok'
    answerHeld()
    expect(await codeOf(verify(await signRs256(withdrawn, { kid: 'k2', sub: 'dan' })))).toBe(
      'HERALD_ERR_TOKEN_KEY_UNKNOWN',
    )
    expect(logged).toEqual([])
  })

  it('goes on verifying with the set fetched before while the issuer is down, for up to a day', async () => {
    fakeClocks()
    const verify = verifier()
    const fetchedAt = Date.now()
    expect((await verify(await sign('k1', 'alice'))).userId).toBe('alice')
    answer = '500'
    // Past the set's age the node asks again, fails, and keeps the set: new streams and
    // reconnects with tokens of its keys are admitted, where they were all shed.
    advance(fetchedAt + JWKS_MAX_AGE_MS + 1 - Date.now())
    expect((await verify(await sign('k1', 'bob'))).userId).toBe('bob')
    expect(requests).toBe(2)
    // A kid the set lacks cannot be looked up meanwhile: shed, as in any outage.
    expect(await codeOf(verify(await sign('k2', 'carol')))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    advance(fetchedAt + 6 * 60 * 60_000 - Date.now())
    expect((await verify(await sign('k1', 'dan'))).userId).toBe('dan')
    // A day after the last fetch the set no longer verifies.
    expect(JWKS_STALE_LIMIT_MS).toBe(24 * 60 * 60_000)
    advance(fetchedAt + JWKS_STALE_LIMIT_MS - Date.now())
    expect(await codeOf(verify(await sign('k1', 'erin')))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    answer = 'ok'
    pastFailureBackoff()
    expect((await verify(await sign('k1', 'fred'))).userId).toBe('fred')
    // Every line of the outage names the fetch's own failure, and how old the set in use is.
    const lines = logged.map((line) => JSON.parse(line))
    expect(lines.map(({ msg }) => msg.replace(/ \(err says why\).*/, ''))).toEqual([
      'verification keys cannot be fetched',
      'verification keys still cannot be fetched',
      'verification keys still cannot be fetched',
      'verification keys are available again',
    ])
    expect(lines.slice(0, 3).map(({ err, keySetAgeSeconds }) => [err, keySetAgeSeconds])).toEqual([
      ['Expected 200 OK from the JSON Web Key Set HTTP response', 300],
      ['Expected 200 OK from the JSON Web Key Set HTTP response', 6 * 60 * 60],
      ['Expected 200 OK from the JSON Web Key Set HTTP response', 24 * 60 * 60],
    ])
  })

  it('sheds tokens signed by an RSA key under 2048 bits in the set, and logs why once', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const smallKeys = { ...small, pem: '' }
    alsoPublished = [await jwkOf(smallKeys, 'k2')]
    const verify = verifier()
    // jose will not sign with such a key either: signed by node:crypto.
    const signingInput = `${b64({ alg: 'RS256', kid: 'k2' })}.${b64({ sub: 'alice', exp: future() })}`
    const signature = createSign('RSA-SHA256').update(signingInput).sign(small.privateKey).toString('base64url')
    const weak = `${signingInput}.${signature}`
    expect(await codeOf(verify(weak))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    // A made-up kid makes the node fetch the set again; the weak key is still there. No outage
    // ends or starts: the set can be fetched, one of its keys cannot be used.
    expect(await codeOf(verify(await sign('k9')))).toBe('HERALD_ERR_TOKEN_KEY_UNKNOWN')
    expect(await codeOf(verify(weak))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 40, kid: 'k2', err: expect.stringMatching(/2048/) }),
    ])
    // A token of a usable key still verifies.
    expect((await verify(await sign('k1', 'bob'))).userId).toBe('bob')
  })

  it('verifies a token without a kid by the key that signed it, whatever unusable key comes first', async () => {
    const small = { ...generateKeyPairSync('rsa', { modulusLength: 1024 }), pem: '' }
    alsoPublished = [await jwkOf(small, 'k2')]
    ahead = true
    const verify = verifier()
    expect((await verify(await signRs256(keys, { sub: 'carol' }))).userId).toBe('carol')
    // Signed by no usable key: the unusable one may have signed it, so it is shed, not refused.
    expect(await codeOf(verify(await signRs256(rsaKeys(), { sub: 'dan' })))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
  })

  it('does not end an outage for a verification from the cache beside a fetch that fails', async () => {
    const verify = verifier()
    expect((await verify(await sign('k1', 'alice'))).userId).toBe('alice')
    answer = '500'
    expect(await codeOf(verify(await sign('k2')))).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
    const [cached, unknown] = await Promise.all([sign('k1', 'fred'), sign('k2', 'erin')])
    // The lookup from the cache starts first, and ends while the other's refetch is under way.
    const [fromCache, fromFetch] = await Promise.allSettled([verify(cached), verify(unknown)])
    expect(fromFetch.status).toBe('rejected')
    expect(fromCache.status).toBe('fulfilled')
    expect(logged.map((line) => JSON.parse(line).level)).toEqual([40])
  })

  it('sheds a stream with keys_unavailable (200, not 401) while the JWKS fails, and streams once it is back', async () => {
    const gateway = await startTestGateway({ JWT_SECRET: '', JWT_JWKS_URL: jwksUrl, JWT_JWKS_COOLDOWN_MS: '0' })
    try {
      const token = await sign('k1')
      answer = '500'
      const shed = new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${token}` })
      await shed.ended
      expect(shed.status).toBe(200)
      expect(shed.events).toEqual([expect.objectContaining({ type: 'herald.unavailable' })])
      expect(JSON.parse(shed.events[0]!.data)).toMatchObject({ reason: 'keys_unavailable' })
      const scrape = async () => await (await fetch(`${gateway.url}/metrics`)).text()
      expect(await scrape()).toMatch(/^herald_key_set_fetch_failures_total 1$/m)
      answer = 'ok'
      pastFailureBackoff()
      const live = new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${token}` })
      await live.until((s) => s.events.some((e) => e.type === 'herald.ready'), 5000, 'herald.ready')
      expect(live.status).toBe(200)
      live.close()
      // The fetch that worked set the age back: from 0 s, where the failed one left it at the start's.
      advance(120_000)
      expect(await scrape()).toMatch(/^herald_key_set_age_seconds 120(\.\d+)?$/m)
      expect(await scrape()).toMatch(/^herald_key_set_fetch_failures_total 1$/m)
    } finally {
      await gateway.close()
    }
  })
})

describe('tokens with a critical header extension', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway()
  })
  afterAll(() => gateway.close())

  it('refuses an unrecognised crit extension as malformed, not as a wrong algorithm', async () => {
    // Signed by hand: jose will not sign a header with an extension it does not know either.
    const signingInput = `${b64({ alg: 'HS256', crit: ['exp-ext'], 'exp-ext': true })}.${b64({ sub: 'alice', exp: future() })}`
    const token = `${signingInput}.${createHmac('sha256', TEST_SECRET).update(signingInput).digest('base64url')}`
    expect(await attempt(gateway, token)).toEqual({ status: 401, code: 'HERALD_ERR_TOKEN_MALFORMED' })
  })
})

/** The HeraldError code a verification fails with. */
async function codeOf(verification: Promise<unknown>): Promise<string> {
  const error = await verification.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(HeraldError)
  return (error as HeraldError).code
}
