import { generateKeyPairSync } from 'node:crypto'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { pollUntil, type RedisServer, startRedis } from '@herald/redis-harness'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type GatewayProcess,
  RawSseStream,
  RecordingEventSource,
  signToken,
  spawnGateway,
  startGatewayProcess,
  TEST_API_KEY,
  TEST_SECRET,
} from '../test/harness.js'

describe('node dist/main.js', () => {
  let gateway: GatewayProcess | undefined
  afterEach(async () => {
    await gateway?.stop()
    gateway = undefined
  })

  it('refuses to start without configuration, naming each missing variable', async () => {
    gateway = spawnGateway({})
    expect(await gateway.exited).toBe(78)
    expect(gateway.output()).toMatch(/JWT_SECRET: required/)
    expect(gateway.output()).toMatch(/PUBLISH_API_KEY: required/)
  })

  it('names a malformed variable and exits', async () => {
    gateway = spawnGateway({ JWT_SECRET: TEST_SECRET, PUBLISH_API_KEY: TEST_API_KEY, MAX_CONNECTIONS_PER_USER: 'many' })
    expect(await gateway.exited).toBe(78)
    expect(gateway.output()).toMatch(/MAX_CONNECTIONS_PER_USER: must be a whole number/)
  })

  it('gets every problem out through a pipe, however long the values', async () => {
    const nines = '9'.repeat(100_000)
    gateway = spawnGateway({
      JWT_SECRET: TEST_SECRET,
      PUBLISH_API_KEY: TEST_API_KEY,
      MAX_CONNECTIONS: nines,
      RETRY_MS: nines,
      LOG_LEVEL: 'bogus',
    })
    const closed = once(gateway.child, 'close')
    expect(await gateway.exited).toBe(78)
    await closed
    for (const variable of ['LOG_LEVEL', 'MAX_CONNECTIONS', 'RETRY_MS'])
      expect(gateway.output()).toContain(`  - ${variable}: `)
    expect(gateway.output().length).toBeLessThan(2_000)
  })

  it('treats a Redis user that may not load the functions as configuration (exit 78, naming REDIS_URL)', async () => {
    const redis = await startRedis()
    try {
      await redis.cli('ACL', 'SETUSER', 'nofunctions', 'on', '>nofunctions-password', '~*', '&*', '+@all', '-function')
      gateway = spawnGateway({
        JWT_SECRET: TEST_SECRET,
        PUBLISH_API_KEY: TEST_API_KEY,
        PORT: '0',
        REDIS_URL: `redis://nofunctions:nofunctions-password@127.0.0.1:${redis.port}`,
      })
      const closed = once(gateway.child, 'close')
      expect(await gateway.exited).toBe(78)
      await closed
      expect(gateway.output()).toMatch(
        /herald: invalid configuration:\n {2}- REDIS_URL: its user may not load Herald's functions \(NOPERM .*\): grant it \+function\|load and \+function\|list/,
      )
      expect(gateway.output()).not.toContain('nofunctions-password')
    } finally {
      await redis.stop()
    }
  })

  it.each([
    ['192.0.2.1', /HOST: cannot listen on 192\.0\.2\.1:0 \(EADDRNOTAVAIL\): not an address of this machine/],
    ['nohost.invalid', /HOST: cannot listen on nohost\.invalid:0 \(ENOTFOUND\): no such host/],
    // A link-local address without its zone, and a name longer than DNS's 253 characters: EINVAL.
    ['fe80::1', /HOST: cannot listen on fe80::1:0 \(EINVAL\): not an address it can listen on/],
    [
      `${'a'.repeat(60)}.`.repeat(5),
      /HOST: cannot listen on (a{60}\.){5}:0 \(EINVAL\): not an address it can listen on/,
    ],
  ])('treats HOST=%s, which it cannot listen on, as configuration (exit 78, naming HOST)', async (host, message) => {
    gateway = spawnGateway({ JWT_SECRET: TEST_SECRET, PUBLISH_API_KEY: TEST_API_KEY, PORT: '0', HOST: host })
    expect(await gateway.exited).toBe(78)
    expect(gateway.output()).toMatch(message)
  })

  it('in --dev, prints the demo URL and serves the demo, token minting and a working stream', async () => {
    gateway = spawnGateway({ PORT: '0' }, ['--dev'])
    const [, base] = await gateway.waitForOutput(/Demo: +(http:\/\/127\.0\.0\.1:\d+)\/demo/)
    expect(gateway.output()).toContain(`Listening: ${new URL(base!).host} (loopback only)`)
    expect(gateway.output()).toContain('dev mode (embedded broker, not for production)')
    expect(gateway.output()).toContain(`Tokens:   curl -X POST ${base}/dev/token`)
    expect(gateway.output()).toMatch(/PUBLISH_API_KEY=\S{16,}/)
    // The banner, secrets and all, is for the terminal (stderr); stdout is the log, JSON lines only.
    await gateway.waitForOutput(/"msg":"gateway listening"/)
    const logLines = gateway
      .stdout()
      .split('\n')
      .filter((line) => line !== '')
    for (const line of logLines) expect(() => JSON.parse(line), line).not.toThrow()
    expect(gateway.stdout()).not.toMatch(/JWT_SECRET=|PUBLISH_API_KEY=/)
    const demo = await fetch(`${base}/demo`)
    expect(demo.status).toBe(200)
    expect(await demo.text()).toContain('id="bell"')

    const minted = await fetch(`${base}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'demo', topics: ['announcements'] }),
    })
    const { token } = (await minted.json()) as { token: string }
    const client = new RecordingEventSource(`${base}/v1/events?topics=announcements`, {
      token,
      types: ['demo.message'],
    })
    await client.waitForReady()
    const published = await fetch(`${base}/dev/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ topic: 'announcements', type: 'demo.message', data: { title: 'hi' } }),
    })
    expect(published.status).toBe(200)
    await client.waitForEvents(1, 'demo.message')
    expect(client.payloads('demo.message')).toEqual([{ title: 'hi' }])
    client.close()

    for (const [body, message] of [
      ['notjson', 'body: must be a JSON object like {"user": "alice"}'],
      ['[1]', 'body: must be a JSON object like {"user": "alice"}'],
      ['{"user": "a b"}', 'user: must be a valid user id'],
      ['{"user": "a", "topic": ["news"]}', 'topic: unknown field (expected user, topics, ttlSeconds)'],
      // JSON.parse keeps the last: the token would be bob's, for a reader of the first.
      ['{"user": "alice", "user": "bob"}', 'user: is given more than once; give each field once'],
    ] as const) {
      const refused = await fetch(`${base}/dev/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      })
      expect([refused.status, ((await refused.json()) as any).error.message], body).toEqual([400, message])
    }
    const huge = await fetch(`${base}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'a', pad: 'x'.repeat(100_000) }),
    })
    expect([huge.status, ((await huge.json()) as any).error.code]).toEqual([413, 'HERALD_ERR_BODY_TOO_LARGE'])
    const plain = await fetch(`${base}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: '{"user":"a"}',
    })
    expect([plain.status, ((await plain.json()) as any).error.code]).toEqual([415, 'HERALD_ERR_MEDIA_TYPE'])
    // Its banner already says it runs on the embedded broker; the log gets no warning about it.
    expect(gateway.stdout()).not.toContain('no REDIS_URL')
  })

  it('in --dev, answers token minting and keyless publishing only for a loopback Host (DNS rebinding)', async () => {
    gateway = spawnGateway({ PORT: '0' }, ['--dev'])
    const [, port] = await gateway.waitForOutput(/Demo: +http:\/\/127\.0\.0\.1:(\d+)\/demo/)
    // A page of attacker.example, its name rebound to 127.0.0.1, is same-origin with the
    // gateway; its requests still carry its own Host, which fetch() will not set and http will.
    const post = (host: string, path: string, body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers = { Host: host, 'Content-Type': 'application/json' }
        const request = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (response) => {
          let text = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => {
            text += chunk
          })
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
        })
        request.on('error', reject)
        request.end(body)
      })
    for (const path of ['/dev/token', '/dev/publish']) {
      const body = path === '/dev/token' ? '{"user":"victim","topics":["*"]}' : '{"user":"victim","data":1}'
      const refused = await post(`attacker.example:${port}`, path, body)
      expect(refused.status, path).toBe(403)
      expect(JSON.parse(refused.body).error.code).toBe('HERALD_ERR_HOST_FORBIDDEN')
      // The refusal names every host the routes answer, each tried below.
      expect(JSON.parse(refused.body).error.message).toMatch(/localhost, \*\.localhost, 127\.0\.0\.0\/8 or \[::1\]/)
      for (const host of [
        `localhost:${port}`,
        `127.0.0.1:${port}`,
        `127.0.0.5:${port}`,
        `[::1]:${port}`,
        `app.localhost:${port}`,
      ]) {
        expect((await post(host, path, body)).status, `${host} ${path}`).not.toBe(403)
      }
    }
    expect(gateway.output()).not.toContain('victim')
  })

  it('in --dev with JWT_PUBLIC_KEY, prints no token minting line and no demo URL, since /dev/token answers 404 then', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString()
    gateway = spawnGateway({ PORT: '0', JWT_PUBLIC_KEY: pem }, ['--dev'])
    const [, base] = await gateway.waitForOutput(/Events: +(http:\/\/127\.0\.0\.1:\d+)\/v1\/events/)
    // The generated publish key is the banner's last line: by then the banner has all its lines.
    await gateway.waitForOutput(/PUBLISH_API_KEY=\S+\n/)
    expect(gateway.output()).toMatch(/Publish: +curl/)
    expect(gateway.output()).toMatch(/Demo: +needs JWT_SECRET \(the page mints its tokens at \/dev\/token\)\n/)
    expect(gateway.output()).not.toMatch(/Tokens:|\/demo\b/)
    const minted = await fetch(`${base}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"user":"demo"}',
    })
    expect(minted.status).toBe(404)
    expect(((await minted.json()) as any).error.message).toBe(
      'token minting needs JWT_SECRET; this gateway verifies with JWT_PUBLIC_KEY, whose signing key it does not hold',
    )
  })

  it('in --dev with REDIS_URL, says it runs on Redis, not the embedded broker', async () => {
    gateway = spawnGateway({ PORT: '0', REDIS_URL: 'redis://127.0.0.1:1' }, ['--dev'])
    await gateway.waitForOutput(/Demo: +http:/)
    expect(gateway.output()).toContain('dev mode (Redis, standalone, not for production)')
    expect(gateway.output()).not.toContain('embedded broker')
  })

  it('in --dev, refuses to start on a HOST that is not loopback, naming HOST', async () => {
    gateway = spawnGateway({ PORT: '0', HOST: '0.0.0.0' }, ['--dev'])
    const outcome = await Promise.race([gateway.exited, gateway.waitForOutput(/Demo:/).then(() => 'started')])
    expect(outcome).toBe(78)
    expect(gateway.output()).toMatch(/HOST: --dev .* 0\.0\.0\.0 is not loopback \(set DEV_ALLOW_REMOTE=true/)
  })

  it('in --dev with DEV_ALLOW_REMOTE=true, prints the address it actually listens on, and warns', async () => {
    gateway = spawnGateway({ PORT: '0', HOST: '0.0.0.0', DEV_ALLOW_REMOTE: 'true' }, ['--dev'])
    const [, port] = await gateway.waitForOutput(/Listening: 0\.0\.0\.0:(\d+)\n/)
    expect(gateway.output()).toMatch(/WARNING: +reachable from other machines \(DEV_ALLOW_REMOTE=true\)/)
    expect((await fetch(`http://127.0.0.1:${port}/demo`)).status).toBe(200)
    // The log says so too: the address as bound, beside a URL to reach it from this host.
    await gateway.waitForOutput(
      new RegExp(`"address":"0\\.0\\.0\\.0:${port}","url":"http://127\\.0\\.0\\.1:${port}".*"msg":"gateway listening"`),
    )
  })

  it('without --dev, has no demo page, no token minting and no keyless publish', async () => {
    const started = await startGatewayProcess()
    gateway = started.process
    const base = started.url
    for (const [method, path] of [
      ['GET', '/demo'],
      ['GET', '/demo/herald-client.js'],
      ['GET', '/demo/herald-bell.js'],
      ['POST', '/dev/token'],
      ['POST', '/dev/publish'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method })
      expect(response.status, path).toBe(404)
      expect(((await response.json()) as any).error.code).toBe('HERALD_ERR_NOT_FOUND')
    }
    expect(gateway.output()).not.toMatch(/JWT_SECRET=|PUBLISH_API_KEY=/)
  })

  it('without --dev and without REDIS_URL, warns that the node runs alone on the embedded broker', async () => {
    const started = await startGatewayProcess()
    gateway = started.process
    const line = await gateway.waitForOutput(/\{[^\n]*"msg":"no REDIS_URL[^\n]*\n/)
    expect(JSON.parse(line[0])).toMatchObject({ level: 40, broker: 'memory' })
  })

  it('never writes a token or key to its logs, even at debug level', async () => {
    const started = await startGatewayProcess({ LOG_LEVEL: 'debug' })
    gateway = started.process
    const base = started.url
    const token = await signToken('alice')
    const expired = await signToken('alice', { expiresIn: Math.floor(Date.now() / 1000) - 60 })
    const client = new RecordingEventSource(`${base}/v1/events?access_token=${token}`)
    await client.waitForReady()
    client.close()
    await fetch(`${base}/v1/events?access_token=${expired}&topics=x`)
    await fetch(`${base}/v1/events`, { headers: { Cookie: `herald_token=${expired}` } })
    await fetch(`${base}/v1/publish`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_API_KEY}` } })
    expect(await gateway.stop()).toBe(0)
    const logs = gateway.output()
    expect(logs).toMatch(/"url":"\/v1\/events\?access_token=\[redacted\]"/)
    for (const secret of [token, expired, TEST_API_KEY, TEST_SECRET, token.split('.')[2]!])
      expect(logs).not.toContain(secret)
  })

  it('exits cleanly on SIGTERM', async () => {
    gateway = (await startGatewayProcess()).process
    expect(await gateway.stop()).toBe(0)
    expect(gateway.output()).toMatch(/gateway stopped/)
  })

  it('drains on SIGTERM, a second one included: every stream ends with a jittered retry hint, then the process exits 0', async () => {
    const started = await startGatewayProcess({ RETRY_MS: '1000', DRAIN_WINDOW_MS: '1000' })
    gateway = started.process
    const base = started.url
    const streams = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const stream = new RawSseStream(`${base}/v1/events`, { Authorization: `Bearer ${await signToken(`user${i}`)}` })
        await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 5000, 'ready')
        return stream
      }),
    )
    gateway.child.kill('SIGTERM')
    await gateway.waitForOutput(/"connections":8,"windowMs":1000,"msg":"draining"/)
    // An impatient supervisor's second SIGTERM must not end the drain with the default action.
    gateway.child.kill('SIGTERM')
    await Promise.all(streams.map((stream) => stream.ended))
    const hints = streams.map((stream) => stream.retries.at(-1)!)
    for (const stream of streams) expect(stream.retries).toHaveLength(2)
    // From half of RETRY_MS, as a stream turned away `draining` gets: the other nodes are up.
    for (const hint of hints) expect(hint).toBeGreaterThanOrEqual(500)
    for (const hint of hints) expect(hint).toBeLessThan(1000)
    expect(new Set(hints).size).toBeGreaterThan(1)
    expect(await gateway.exited).toBe(0)
  })

  it('closes the connection of each stream it drains, which its head said it would, so a proxy sends no publish down it', async () => {
    // Three streams over 3 s: the first is closed within the first second, the last after two.
    const started = await startGatewayProcess({ DRAIN_WINDOW_MS: '3000', RETRY_MS: '1000' })
    gateway = started.process
    const { port } = new URL(started.url)
    const sockets = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (user) => {
        const socket = net.connect(Number(port), '127.0.0.1')
        socket.setEncoding('utf8')
        let text = ''
        socket.on('data', (chunk: string) => {
          text += chunk
        })
        const ended = once(socket, 'end').then(() => text)
        socket.write(
          `GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nAuthorization: Bearer ${await signToken(user)}\r\n\r\n`,
        )
        await new Promise<void>((resolve) => {
          const ready = () => (text.includes('herald.ready') ? resolve() : socket.once('data', ready))
          ready()
        })
        return { socket, ended, text: () => text }
      }),
    )
    gateway.child.kill('SIGTERM')
    // The first connection the node ends: its stream ended (the last chunk, after a retry hint)
    // and then the socket, while the drain still has streams to close.
    const first = await Promise.race(sockets.map((s, i) => s.ended.then((text) => ({ text, i }))))
    expect(first.text).toMatch(/^HTTP\/1\.1 200 OK\r\n(?:[^\r\n]+\r\n)*Connection: close\r\n/)
    expect(first.text).toMatch(/retry: \d+\n\n\r\n0\r\n\r\n$/)
    const stillStreaming = sockets.filter((s) => !s.text().endsWith('0\r\n\r\n'))
    expect(stillStreaming.length).toBeGreaterThan(0)
    for (const { ended } of sockets) await ended
    expect(await gateway.exited).toBe(0)
  })

  it('exits on SIGTERM after the reader of its stdout has gone (EPIPE, as under `herald | head -1`)', async () => {
    gateway = (await startGatewayProcess()).process
    const stdout = gateway.child.stdout!
    stdout.destroy()
    await once(stdout, 'close')
    gateway.child.kill('SIGTERM')
    expect(await gateway.exited).toBe(0)
  })

  it('says Connection: close on the answer to a publish already in flight when the drain began', async () => {
    const started = await startGatewayProcess({ DRAIN_WINDOW_MS: '600000', RETRY_MS: '1000' })
    gateway = started.process
    // A stream keeps the drain going; the publish's body is half sent when it begins.
    const stream = new RawSseStream(`${started.url}/v1/events`, { Authorization: `Bearer ${await signToken('u1')}` })
    await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 5000, 'ready')
    const socket = net.connect(Number(new URL(started.url).port), '127.0.0.1')
    socket.setEncoding('utf8')
    let answer = ''
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    const body = JSON.stringify({ user: 'u1', data: 1 })
    socket.write(
      `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    )
    await once(socket, 'connect')
    gateway.child.kill('SIGTERM')
    await gateway.waitForOutput(/"msg":"draining"/)
    socket.write(body.slice(5))
    await once(socket, 'end')
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n(?:[^\r\n]+\r\n)*Connection: close\r\n/)
    stream.close()
  })

  it('keeps answering probes while it drains, refuses new streams, then exits', async () => {
    // Two streams over a long window: the second is not closed before half of it has
    // passed, so the drain is still running while the probes below are answered.
    const started = await startGatewayProcess({ DRAIN_WINDOW_MS: '600000', RETRY_MS: '1000' })
    gateway = started.process
    const base = started.url
    const streams = await Promise.all(
      ['u1', 'u2'].map(async (user) => {
        const stream = new RawSseStream(`${base}/v1/events`, { Authorization: `Bearer ${await signToken(user)}` })
        await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 5000, 'ready')
        return stream
      }),
    )
    gateway.child.kill('SIGTERM')
    await gateway.waitForOutput(/"connections":2,"windowMs":600000,"msg":"draining"/)

    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ status: 'not_ready', reasons: ['draining'] })
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    // Keep-alive connections to a draining node are retired as they are used, not cut mid-request.
    expect(health.headers.get('connection')).toBe('close')
    const metrics = await fetch(`${base}/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toMatch(/^herald_connections [12]$/m)
    for (const wants503 of [false, true]) {
      const refused = new RawSseStream(`${base}/v1/events`, {
        Authorization: `Bearer ${await signToken('u3')}`,
        ...(wants503 ? { 'X-Herald-Shed-Status': '503' } : {}),
      })
      await refused.ended
      expect(refused.status).toBe(wants503 ? 503 : 200)
      // A proxy must not keep this connection for a publish: the node closes it as the drain ends.
      expect(refused.headers.connection).toBe('close')
      expect(refused.events.map((e) => [e.type, JSON.parse(e.data).reason])).toEqual([
        ['herald.unavailable', 'draining'],
      ])
    }
    expect(streams.filter((stream) => !stream.isEnded).length).toBeGreaterThan(0)

    // Once its last stream is gone the drain has nothing left to do, and the process exits.
    for (const stream of streams) stream.close()
    expect(await gateway.exited).toBe(0)
    expect(gateway.output()).toMatch(/gateway stopped/)
  })

  it('starts unready, instead of hanging, when Redis is unreachable', async () => {
    const started = await startGatewayProcess({ REDIS_URL: 'redis://127.0.0.1:1' })
    gateway = started.process
    const base = started.url
    expect(gateway.output()).toMatch(/redis is not reachable yet/)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as any).reasons).toEqual(['broker_unavailable'])
    const published = await fetch(`${base}/v1/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'a', data: 1 }),
    })
    expect(published.status).toBe(503)
    expect(((await published.json()) as any).error.code).toBe('HERALD_ERR_BROKER_UNAVAILABLE')
  })
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops on %s while startup waits for an unreachable Redis, without listening first',
    async (signal) => {
      gateway = spawnGateway({
        JWT_SECRET: TEST_SECRET,
        PUBLISH_API_KEY: TEST_API_KEY,
        HOST: '127.0.0.1',
        PORT: '0',
        REDIS_URL: 'redis://127.0.0.1:1',
      })
      // The first connection error comes while startup waits for Redis: the signal lands in that wait.
      await gateway.waitForOutput(/"msg":"redis connection error"/)
      gateway.child.kill(signal)
      expect(await gateway.exited).toBe(0)
      expect(gateway.output()).toMatch(/"msg":"gateway stopped before it started"/)
      // It waited out the 5 s, listened, and only then stopped.
      expect(gateway.output()).not.toMatch(/gateway listening|not reachable yet/)
    },
  )
  describe('while Redis holds back the functions load (CLIENT PAUSE WRITE)', () => {
    /** A gateway on a Redis that answers reads but holds writes, once its functions load is held. */
    async function gatewayLoadingFunctions(redis: RedisServer): Promise<GatewayProcess> {
      await redis.cli('CLIENT', 'PAUSE', '60000', 'WRITE')
      const spawned = spawnGateway({
        JWT_SECRET: TEST_SECRET,
        PUBLISH_API_KEY: TEST_API_KEY,
        HOST: '127.0.0.1',
        PORT: '0',
        REDIS_URL: redis.url,
      })
      await pollUntil('the functions load held by the pause', async () =>
        (await redis.cli('CLIENT', 'LIST')).includes('cmd=function|load') ? true : undefined,
      )
      return spawned
    }

    it('stops on SIGINT, without listening first', async () => {
      const redis = await startRedis()
      try {
        gateway = await gatewayLoadingFunctions(redis)
        gateway.child.kill('SIGINT')
        expect(await gateway.exited).toBe(0)
        expect(gateway.output()).toMatch(/"msg":"gateway stopped before it started"/)
        expect(gateway.output()).not.toMatch(/gateway listening/)
      } finally {
        await redis.stop()
      }
    })

    it('starts after 5 s, and loads the functions once Redis answers', async () => {
      const redis = await startRedis()
      try {
        gateway = await gatewayLoadingFunctions(redis)
        await gateway.waitForOutput(/redis has not answered the herald functions load within 5 s/)
        const url = (await gateway.waitForOutput(/"url":"(http:\/\/[^"]+)"/))[1]!
        await redis.cli('CLIENT', 'UNPAUSE')
        await pollUntil('the library loaded', async () =>
          (await redis.cli('FUNCTION', 'LIST', 'LIBRARYNAME', 'herald')).includes('herald') ? true : undefined,
        )
        expect((await fetch(`${url}/healthz`)).status).toBe(200)
      } finally {
        await redis.stop()
      }
    })
  })
  it("says that Redis refuses REDIS_URL's credentials, not that it is unreachable, and connects once they are fixed", async () => {
    const redis = await startRedis()
    try {
      await redis.cli('ACL', 'SETUSER', 'herald', 'on', '>right-password', '~*', '&*', '+@all')
      const started = await startGatewayProcess({
        REDIS_URL: `redis://herald:rotated-password@127.0.0.1:${redis.port}`,
      })
      gateway = started.process
      const [line] = await gateway.waitForOutput(/^.*"msg":"redis refuses REDIS_URL's credentials.*$/m)
      expect(JSON.parse(line).err).toMatch(/^WRONGPASS /)
      expect(gateway.output()).not.toMatch(/not reachable/)
      expect(gateway.output()).not.toContain('rotated-password')
      expect(await readyzStatus(started.url)).toBe(503)
      // The ACL takes the new password: the node connects without a restart.
      await redis.cli('ACL', 'SETUSER', 'herald', '>rotated-password')
      await pollUntil('the node ready on the fixed credentials', async () =>
        (await readyzStatus(started.url)) === 200 ? true : undefined,
      )
    } finally {
      await redis.stop()
    }
  })
  it('says that Redis needs credentials when REDIS_URL gives none', async () => {
    const redis = await startRedis()
    try {
      await redis.cli('CONFIG', 'SET', 'requirepass', 'a-password-the-url-lacks')
      gateway = spawnGateway({
        JWT_SECRET: TEST_SECRET,
        PUBLISH_API_KEY: TEST_API_KEY,
        PORT: '0',
        REDIS_URL: redis.url,
      })
      const [line] = await gateway.waitForOutput(/^.*"msg":"redis needs credentials REDIS_URL does not give.*$/m)
      expect(JSON.parse(line).err).toMatch(/^NOAUTH /)
    } finally {
      await redis.stop()
    }
  })
  it('says, when rediss:// meets a Redis port that does not serve TLS, that no TLS handshake completed', async () => {
    const redis = await startRedis()
    try {
      const started = await startGatewayProcess({ REDIS_URL: `rediss://127.0.0.1:${redis.port}`, LOG_LEVEL: 'info' })
      gateway = started.process
      const [line] = await gateway.waitForOutput(/^.*"msg":"redis connection error".*$/m, 20_000)
      expect(JSON.parse(line)).toMatchObject({
        err: 'connect ETIMEDOUT',
        hint: 'no TLS handshake completed (rediss://): check that this Redis port serves TLS',
      })
    } finally {
      await redis.stop()
    }
  })
  it('says, when REDIS_URL names a port that does not speak Redis, to check the port, not to report a parser bug', async () => {
    // An HTTP server's answer to the commands ioredis sends first.
    const notRedis = net.createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    await new Promise<void>((resolve) => notRedis.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = notRedis.address() as net.AddressInfo
      gateway = spawnGateway({
        JWT_SECRET: TEST_SECRET,
        PUBLISH_API_KEY: TEST_API_KEY,
        PORT: '0',
        REDIS_URL: `redis://127.0.0.1:${port}`,
      })
      const [line] = await gateway.waitForOutput(/^.*"msg":"redis connection error".*$/m)
      expect(JSON.parse(line)).toMatchObject({
        err: expect.stringMatching(/Unknown RESP type/),
        hint: expect.stringMatching(/^the server at this address did not answer in the Redis protocol/),
      })
    } finally {
      notRedis.close()
    }
  })
  it('logs an unreachable cluster in a burst a window, as JSON only, with no listener piling up per retry', async () => {
    // A cluster client retries about ten times a second; each retry announced its subscribers
    // ready, and each announcement left a listener (Node warned past 10, on stderr, not JSON).
    const started = await startGatewayProcess({ REDIS_URL: 'redis+cluster://127.0.0.1:1', LOG_LEVEL: 'info' })
    gateway = started.process
    await gateway.waitForOutput(/more redis connection errors than logged/, 20_000)
    const lines = gateway.output().trim().split('\n')
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual([])
    // The first window: its lines, up to the count of those it held back (the next window's follow).
    const logged = lines.map((line) => JSON.parse(line))
    const firstWindow = logged.slice(
      0,
      logged.findIndex((line) => line.msg === 'more redis connection errors than logged'),
    )
    const errors = firstWindow.filter((line) => line.msg === 'redis connection error')
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.length).toBeLessThanOrEqual(3)
  })
})

/** The status /readyz answers, its body read so that the connection is free for the next probe. */
async function readyzStatus(url: string): Promise<number> {
  const response = await fetch(`${url}/readyz`)
  await response.arrayBuffer()
  return response.status
}
