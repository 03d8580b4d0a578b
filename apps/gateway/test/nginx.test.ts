import { once } from 'node:events'
import http2 from 'node:http2'
import { type AddressInfo, connect, createServer } from 'node:net'
import { type ParsedEvent, SseParser } from '@herald/protocol'
import { freePort, pollUntil } from '@herald/redis-harness'
import { afterEach, describe, expect, it } from 'vitest'
import { exchange, parse, postJson, RawSseStream, RecordingEventSource, signToken, TEST_API_KEY } from './harness.js'
import { type NginxFleet, startNginxFleet, startNginxSite, startUnansweringHost } from './nginx.js'
import { metric, stopNodes } from './redis-nodes.js'

const range = (count: number) => Array.from({ length: count }, (_, n) => n)

// Gateways killed and stopped behind nginx while publishing: test/faults/gateway-restarts.test.ts.
describe('gateways behind the shipped nginx config', () => {
  let fleet: NginxFleet
  afterEach(() => fleet.stop())

  it('passes a stream that reaches a full node on to the next one, unnoticed by the client', async () => {
    fleet = await startNginxFleet([{ MAX_CONNECTIONS: '1' }, {}])
    // Fill the first node directly, where nginx cannot see it.
    const direct = new RecordingEventSource(fleet.nodes[0]!.eventsUrl(), { token: await signToken('direct') })
    await direct.waitForReady()
    const viaNginx = await Promise.all(range(4).map((i) => fleet.connect(`user${i}`)))
    await Promise.all(viaNginx.map((client) => client.waitForReady()))
    for (const client of viaNginx) expect(client.count('herald.unavailable')).toBe(0)
    expect(await metric(fleet.nodes[1]!, 'herald_connections')).toBe(4)
    const rejected = await (await fetch(`${fleet.nodes[0]!.url}/metrics`)).text()
    expect(rejected).toMatch(/^herald_connections_rejected_total\{reason="over_capacity"\} [1-9]/m)
    direct.close()
  })

  it('when every node is full, keeps the EventSource alive and connects it once capacity frees', async () => {
    fleet = await startNginxFleet([{ MAX_CONNECTIONS: '1' }, { MAX_CONNECTIONS: '1' }])
    const [first, second] = [await fleet.connect('a'), await fleet.connect('b')]
    await Promise.all([first.waitForReady(), second.waitForReady()])
    const waiting = await fleet.connect('c')
    await waiting.waitForEvents(1, 'herald.unavailable')
    expect(JSON.parse(waiting.events[0]!.data).reason).toBe('over_capacity')
    // Not a permanent failure: the spec client is reconnecting, not closed.
    expect(waiting.source.readyState).not.toBe(waiting.source.CLOSED)
    first.close()
    await waiting.waitForReady(1, 30_000)
    expect(waiting.source.readyState).toBe(waiting.source.OPEN)
  })

  it('moves streams to the new workers on a reload with worker_shutdown_timeout, losing nothing', async () => {
    fleet = await startNginxFleet([{}], { workerShutdownTimeout: '1s' })
    const clients = await Promise.all(range(3).map(async (i) => fleet.connect(`reload${i}`)))
    await Promise.all(clients.map((client) => client.waitForReady()))
    const publishAll = async (from: number) => {
      for (const n of range(10))
        await Promise.all(range(3).map((i) => fleet.publisher.publish({ user: `reload${i}` }, 'message', from + n)))
    }
    await publishAll(0)
    await fleet.nginx.reload()
    await publishAll(10)
    // The old worker closed each stream after 1 s; each resumed through the new one.
    await Promise.all(clients.map((client) => client.waitForReady(2)))
    await publishAll(20)
    await Promise.all(clients.map((client) => client.waitForEvents(30)))
    for (const client of clients) expect(client.payloads()).toEqual(range(30))
  })

  it('serves the stream over HTTP/2 at the edge', async () => {
    fleet = await startNginxFleet([{}])
    const session = http2.connect(fleet.nginx.tlsUrl, { rejectUnauthorized: false })
    const stream = session.request({ ':path': '/v1/events', authorization: `Bearer ${await signToken('h2')}` })
    const events: ParsedEvent[] = []
    let changed: () => void = () => {}
    const parser = new SseParser({
      onEvent: (event) => {
        events.push(event)
        changed()
      },
    })
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve))
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => parser.push(chunk))
    const until = (count: number) =>
      new Promise<void>((resolve) => {
        changed = () => events.length >= count && resolve()
        changed()
      })
    await until(1)
    await fleet.publisher.publish({ user: 'h2' }, 'over.h2', { ok: true })
    await until(2)
    stream.close()
    session.close()
    expect(headers[':status']).toBe(200)
    expect(headers['content-type']).toBe('text/event-stream')
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['herald.ready', expect.any(String)],
      ['over.h2', '{"ok":true}'],
    ])
  })

  it("answers a publish the gateway refuses before reading its body with the gateway's JSON error, every time", async () => {
    fleet = await startNginxFleet([{}])
    // A body nginx streamed on (proxy_request_buffering off) met the gateway's early answer and
    // its closed connection mid-write: 3 to 15 % of these got nginx's retryable 503 instead.
    // One at a time: 80 at once caught it in 2 runs of 3, one at a time in 3 of 3.
    const refusals = []
    for (let n = 0; n < 80; n++) {
      const body = { user: 'big', data: 'x'.repeat(300_000 + n * 8_000) }
      refusals.push(
        await postJson(`${fleet.nginx.url}/v1/publish`, body, n % 4 === 3 ? 'not-this-fleet-key' : TEST_API_KEY),
      )
    }
    expect(refusals.map((reply, n) => [n, reply.status, reply.body.error.code])).toEqual(
      refusals.map((_, n) =>
        n % 4 === 3 ? [n, 401, 'HERALD_ERR_PUBLISH_KEY_INVALID'] : [n, 413, 'HERALD_ERR_BODY_TOO_LARGE'],
      ),
    )
  })

  it('says the gateways are unavailable, not full, when no node answers a stream', async () => {
    fleet = await startNginxFleet([{}, {}])
    await stopNodes(fleet.nodes)
    const stream = new RawSseStream(`${fleet.nginx.url}/v1/events`, {
      authorization: `Bearer ${await signToken('x')}`,
      origin: 'https://app.example',
    })
    await stream.ended
    expect(stream.status).toBe(200)
    expect(stream.headers['content-type']).toBe('text/event-stream')
    expect(stream.headers['x-herald-unavailable']).toBe('broker_unavailable')
    expect(stream.events.map((e) => [e.type, JSON.parse(e.data).reason])).toEqual([
      ['herald.unavailable', 'broker_unavailable'],
    ])
    // The delay as a gateway's answer has it too: whole seconds, rounded up.
    const { retryMs } = JSON.parse(stream.events[0]!.data)
    expect(stream.headers['retry-after']).toBe(String(Math.ceil(retryMs / 1000)))
    // Readable from another origin: an EventSource that may not read it closes for good.
    expect(stream.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    })
  })

  it('keeps the delay the last node gave when every node turns a stream away', async () => {
    // A user at its limit comes back after ten times RETRY_MS (1 to 2 times that, jittered).
    fleet = await startNginxFleet([0, 1].map(() => ({ MAX_CONNECTIONS_PER_USER: '1', RETRY_MS: '1000' })))
    const token = await signToken('busy')
    const held = fleet.nodes.map((node) => new RecordingEventSource(node.eventsUrl(), { token }))
    await Promise.all(held.map((client) => client.waitForReady()))
    const stream = new RawSseStream(`${fleet.nginx.url}/v1/events`, { authorization: `Bearer ${token}` })
    await stream.ended
    for (const client of held) client.close()
    const [event] = stream.events
    const { reason, retryMs } = JSON.parse(event!.data)
    expect([stream.status, event!.type, reason]).toEqual([200, 'herald.unavailable', 'user_limit'])
    expect(retryMs).toBeGreaterThanOrEqual(10_000)
    expect(retryMs).toBeLessThanOrEqual(20_000)
    expect(stream.retries).toEqual([retryMs])
    expect(Number(stream.headers['retry-after']) * 1000).toBe(retryMs)
  })

  it("answers what nginx refuses itself in the gateways' JSON, and passes on the requests they take", async () => {
    fleet = await startNginxFleet([{}])
    const { url } = fleet.nginx
    const raw = async (request: string) => parse(await exchange(url, request))
    const refused = {
      trace: await raw('TRACE /v1/events HTTP/1.1\r\nHost: x\r\n\r\n'),
      connect: await raw('CONNECT /v1/publish HTTP/1.1\r\nHost: x\r\n\r\n'),
      metrics: await raw('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    }
    expect(refused).toMatchObject({
      trace: { status: 405, code: 'HERALD_ERR_METHOD_NOT_ALLOWED' },
      connect: { status: 405, code: 'HERALD_ERR_METHOD_NOT_ALLOWED' },
      metrics: { status: 404, code: 'HERALD_ERR_NOT_FOUND' },
    })
    expect(refused.trace.headers).toContain('\r\nallow: get')
    expect(refused.connect.headers).toContain('\r\nallow: post')
    for (const answer of Object.values(refused)) expect(answer.headers).toContain('content-type: application/json')
    const tooLarge = await fetch(`${url}/v1/events`, { method: 'POST', body: 'x'.repeat(2_000_000) })
    expect([tooLarge.status, tooLarge.headers.get('content-type')]).toEqual([413, 'application/json'])

    // An HTTP/1.0 probe without Host, as simple health checkers send it.
    expect(await raw('GET /healthz HTTP/1.0\r\n\r\n')).toMatchObject({ status: 200 })
    // A stream whose request line or a header line is over nginx's default 8 KiB a line, and
    // under the gateways' 16 KiB in all: the gateway answers it, not nginx.
    const token = await signToken('long')
    const longQuery = new RawSseStream(`${url}/v1/events?access_token=${token}&pad=${'p'.repeat(9000)}`)
    await longQuery.until((s) => s.events.some((e) => e.type === 'herald.ready'), 10_000, 'herald.ready')
    longQuery.close()
    // The gateway's hint, for a buffering proxy in front of nginx (which acts on it and drops it).
    expect(longQuery.headers['x-accel-buffering']).toBe('no')
    const longHeader = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${'x'.repeat(10_000)}` } })
    expect([longHeader.status, longHeader.headers.get('content-type')]).toEqual([401, 'application/json'])
  })

  it("answers a publish in JSON when nginx itself cannot reach a gateway, and passes a gateway's own 503 through", async () => {
    fleet = await startNginxFleet([{}])
    // The gateway's own 503: Redis is gone, the node still answers.
    await fleet.redis.kill()
    const fromGateway = await fetch(`${fleet.nginx.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'u', data: 1 }),
    })
    expect(fromGateway.status).toBe(503)
    const gatewayBody: any = await fromGateway.json()
    expect(gatewayBody.error.code).toBe('HERALD_ERR_BROKER_UNAVAILABLE')
    // The gateway's words, not the proxy's: nginx did not replace the body.
    expect(gatewayBody.error.message).toMatch(/^the broker /)
    expect(fromGateway.headers.get('cache-control')).toBeNull()
    expect(fromGateway.headers.get('retry-after')).toBe('1')

    // nginx's own 502: no gateway listens any more.
    await stopNodes(fleet.nodes)
    const fromNginx = await fetch(`${fleet.nginx.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'u', data: 1 }),
    })
    expect(fromNginx.status).toBe(503)
    expect(fromNginx.headers.get('content-type')).toBe('application/json')
    expect(Number(fromNginx.headers.get('retry-after'))).toBeGreaterThan(0)
    const nginxBody: any = await fromNginx.json()
    expect(nginxBody.error.code).toBe('HERALD_ERR_BROKER_UNAVAILABLE')
    expect(nginxBody.error.message).toMatch(/idempotencyKey/)
  })

  it('answers a body past its own limit with JSON 413, not an HTML page', async () => {
    fleet = await startNginxFleet([{}])
    const reply = await fetch(`${fleet.nginx.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'big', data: 'x'.repeat(2_000_000) }),
    })
    expect(reply.status).toBe(413)
    expect(reply.headers.get('content-type')).toBe('application/json')
    expect(((await reply.json()) as any).error.code).toBe('HERALD_ERR_BODY_TOO_LARGE')
  })

  it('refuses a body on a stream request past 1 KiB at once, never reading it to disk, and streams with a few bytes', async () => {
    fleet = await startNginxFleet([{}])
    const token = await signToken('bodied')
    // nginx keeps the socket open after a 413 to drain the body it refused (lingering close).
    const refusedWhole = (answer: string) => answer.includes('}}')
    // Declared and never sent: refused on the declaration, where nginx used to wait for it all.
    const declared = parse(
      await exchange(
        fleet.nginx.url,
        `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 512000\r\nConnection: close\r\n\r\n`,
        refusedWhole,
      ),
    )
    expect(declared).toMatchObject({ status: 413, code: 'HERALD_ERR_BODY_TOO_LARGE' })
    const chunked = parse(
      await exchange(
        fleet.nginx.url,
        `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10000\r\n${'x'.repeat(65_536)}\r\n0\r\n\r\n`,
        refusedWhole,
      ),
    )
    expect(chunked).toMatchObject({ status: 413, code: 'HERALD_ERR_BODY_TOO_LARGE' })
    // 64 KiB, past the default 16 KiB nginx keeps in memory: it went to a temporary file.
    expect(await fleet.nginx.errorLog()).not.toMatch(/buffered to a temporary file/)
    const small = await exchange(
      fleet.nginx.url,
      `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
      (received) => received.includes('herald.ready'),
    )
    expect(small).toMatch(/^HTTP\/1\.1 200 /)
  })

  it('skips a host that does not answer the TCP handshake within 2 s', async () => {
    const gone = await startUnansweringHost()
    try {
      fleet = await startNginxFleet([{}], { extraUpstreams: [gone.address] })
      // least_conn breaks the tie between idle servers in order: the first publish and the
      // first stream try the unanswering host first, wait for the connect timeout, and move on.
      // nginx's default connect timeout (60 s) would keep both waiting past this test's bound.
      const published = await fetch(`${fleet.nginx.url}/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'u', data: 1 }),
        signal: AbortSignal.timeout(10_000),
      })
      expect(published.status).toBe(200)
      await (await fleet.connect('gone')).waitForReady(1, 10_000)
      const log = await fleet.nginx.errorLog()
      const connectTimeouts = log.split('\n').filter((line) => /timed out.*while connecting to upstream/.test(line))
      expect(connectTimeouts.length, log).toBeGreaterThanOrEqual(1)
      expect(connectTimeouts.every((line) => line.includes(gone.address))).toBe(true)
    } finally {
      await gone.stop()
    }
  })

  it('answers a stream 200 with a retry hint, not 500, when nginx has no connection left to reach a gateway', async () => {
    // Few connections: three listening sockets (HTTPS, the tests' plain HTTP, the redirect), then
    // two per proxied stream (the browser's and the upstream's). A stream accepted when only its
    // own slot is left finds none for its upstream; one that arrives when none is left is dropped
    // at accept, which a browser retries. Streams are opened until nginx logs the first case.
    fleet = await startNginxFleet([{}], { workerConnections: 17 })
    const streams: RawSseStream[] = []
    const upstreamRefused = /worker_connections are not enough while connecting to upstream/
    try {
      while (!upstreamRefused.test(await fleet.nginx.errorLog())) {
        if (streams.length === 30) throw new Error(`no stream met the limit: ${await fleet.nginx.errorLog()}`)
        const token = await signToken(`user${streams.length}`)
        const stream = new RawSseStream(`${fleet.nginx.url}/v1/events`, { authorization: `Bearer ${token}` })
        streams.push(stream)
        await stream.until((s) => s.status !== 0 || s.isEnded, 10_000, 'a response or a closed connection')
        if (stream.status === 200) await stream.until((s) => s.events.length > 0, 10_000, 'a first event')
      }
      const answered = streams.filter((s) => s.status !== 0)
      expect(answered.map((s) => s.status)).toEqual(answered.map(() => 200))
      const turnedAway = answered.filter((s) => s.events[0]?.type === 'herald.unavailable')
      expect(turnedAway.length).toBeGreaterThan(0)
      for (const stream of turnedAway) expect(JSON.parse(stream.events[0]!.data).reason).toBe('broker_unavailable')
    } finally {
      for (const stream of streams) stream.close()
    }
  })

  it('keeps tokens out of its access log, and the metrics and its version from the public', async () => {
    fleet = await startNginxFleet([{}])
    const token = await signToken('logged')
    const stream = new RawSseStream(`${fleet.nginx.url}/v1/events?access_token=${token}`)
    await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 10_000, 'herald.ready')
    stream.close()
    const log = await pollUntil('the stream in the access log', async () => {
      const text = await fleet.nginx.accessLog()
      return text.includes('/v1/events') ? text : undefined
    })
    expect(log).toMatch(/"GET \/v1\/events HTTP\/1\.1"/)
    expect(log).not.toContain(token)
    expect(log).not.toContain('access_token')
    // A publish key a client put in a path: nginx answers it, and logs the path as [other].
    const misplacedKey = `${TEST_API_KEY}-in-a-path`
    expect((await fetch(`${fleet.nginx.url}/v1/publish/${misplacedKey}`, { method: 'POST' })).status).toBe(404)
    const withOther = await pollUntil('the misplaced key in the access log', async () => {
      const text = await fleet.nginx.accessLog()
      return text.includes('"POST [other] ') ? text : undefined
    })
    expect(withOther).not.toContain(misplacedKey)

    const metrics = await fetch(`${fleet.nginx.url}/metrics`)
    expect(metrics.status).toBe(404)
    expect(await metrics.text()).not.toMatch(/herald_/)
    expect(metrics.headers.get('server')).toBe('nginx')
    // The gateways still serve them to Prometheus directly.
    expect(await metric(fleet.nodes[0]!, 'herald_connections')).toBeGreaterThanOrEqual(0)
  })

  it('answers plain HTTP only with a redirect to HTTPS: no stream, no publish', async () => {
    fleet = await startNginxFleet([{}])
    const token = await signToken('cleartext')
    const asked = [
      fetch(`${fleet.nginx.redirectUrl}/v1/events?access_token=${token}`, { redirect: 'manual' }),
      fetch(`${fleet.nginx.redirectUrl}/v1/publish`, {
        method: 'POST',
        redirect: 'manual',
        headers: { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'cleartext', data: 1 }),
      }),
    ]
    const host = new URL(fleet.nginx.redirectUrl).host
    for (const [response, path] of [
      [await asked[0]!, `/v1/events?access_token=${token}`],
      [await asked[1]!, '/v1/publish'],
    ] as const) {
      expect(response.status).toBe(308)
      expect(response.headers.get('location')).toBe(`https://${host.split(':')[0]}${path}`)
      expect(response.headers.get('server')).toBe('nginx')
    }
    expect(await metric(fleet.nodes[0]!, 'herald_connections')).toBe(0)
    expect(await metric(fleet.nodes[0]!, 'herald_messages_published_total')).toBe(0)
  })
})

describe('the nginx harness', () => {
  /** A port taken by a connection's local end, or by a listener of another process. */
  const holders = {
    'a connection': async () => {
      const server = createServer()
      await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
      const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
      await once(client, 'connect')
      return {
        port: client.localPort!,
        release: () => {
          client.destroy()
          server.close()
        },
      }
    },
    'a listener': async () => {
      const server = createServer()
      await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
      return { port: (server.address() as AddressInfo).port, release: () => server.close() }
    },
  }

  it.each(Object.keys(holders) as Array<keyof typeof holders>)(
    'starts nginx on another port when %s takes the one it picked before nginx binds it',
    async (holder) => {
      const taken = await holders[holder]()
      const picked: number[] = []
      const pickPort = async () => {
        const port = picked.length === 0 ? taken.port : await freePort()
        picked.push(port)
        return port
      }
      try {
        const site = await startNginxSite("server {\n  listen 80;\n  return 200 'up';\n}\n", '80', pickPort)
        try {
          expect(picked[0]).toBe(taken.port)
          expect(new URL(site.url).port).toBe(String(picked[1]))
          expect(await (await fetch(site.url)).text()).toBe('up')
        } finally {
          await site.stop()
        }
      } finally {
        taken.release()
      }
    },
  )
})
