import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { once } from 'node:events'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  exchange,
  parse,
  RawSseStream,
  recordingLogger,
  signToken,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
  withTimeout,
} from '../test/harness.js'

describe('which requests a gateway serves', () => {
  let gateway: TestGateway
  const { logger, lines: logged } = recordingLogger('debug')
  beforeAll(async () => {
    gateway = await startTestGateway({}, { logger })
  })
  afterAll(() => gateway.close())

  const get = (target: string, headers: string) =>
    exchange(gateway.url, `GET ${target} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`).then(parse)

  it('serves an HTTP/1.0 request without Host, a probe and the stream alike', async () => {
    const probe = parse(await exchange(gateway.url, 'GET /healthz HTTP/1.0\r\n\r\n'))
    expect(probe.status).toBe(200)
    expect(probe.headers).toContain('content-type: application/json')
    const stream = parse(await exchange(gateway.url, 'GET /v1/events HTTP/1.0\r\n\r\n'))
    expect([stream.status, stream.code]).toEqual([401, 'HERALD_ERR_TOKEN_MISSING'])
  })

  it('answers a missing, repeated or malformed Host with 400 and a JSON code, on every route, and logs it', async () => {
    const before = logged.length
    for (const path of ['/healthz', '/v1/events', '/nope']) {
      for (const headers of [
        '',
        'Host: a b\r\n',
        'Host: x:99999\r\n',
        'Host: [::1\r\n',
        'Host: a\xff\r\n',
        'Host: a\r\nHost: b\r\n',
      ]) {
        const answer = parse(await exchange(gateway.url, `GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`))
        expect([answer.status, answer.code], `${path} ${JSON.stringify(headers)}`).toEqual([
          400,
          'HERALD_ERR_BAD_REQUEST',
        ])
        expect(answer.headers).toContain('content-type: application/json')
      }
    }
    const lines = logged.slice(before).map((line) => JSON.parse(line))
    expect(lines.filter((line) => line.msg === 'request' && line.status === 400)).toHaveLength(18)
  })

  it('closes the connection after refusing a request for its head before its declared body came', async () => {
    // A repeated Host, and more header fields than Node keeps (Content-Length among those it
    // drops): kept alive, the connection would wait for the body to reach a next request.
    const publishHead = (headers: string) =>
      `POST /v1/publish HTTP/1.1\r\n${headers}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"user":`
    for (const [headers, status] of [
      ['Host: a\r\nHost: b\r\n', 400],
      [`Host: x\r\n${'X: 1\r\n'.repeat(1100)}`, 431],
    ] as const) {
      const answer = await exchange(gateway.url, publishHead(headers))
      expect(parse(answer).status).toBe(status)
      // exchange resolves on the server's close; the header says it was meant.
      expect(parse(answer).headers).toContain('connection: close')
    }
  })

  it('takes any well-formed Host, which plays no part in routing', async () => {
    for (const host of ['gateway.internal', 'GW.example:8080', '10.0.0.7:80', '[::1]:8080', '', 'a_b.svc']) {
      expect((await get('/healthz', `Host: ${host}\r\n`)).status, host).toBe(200)
    }
  })

  it('routes the absolute form and percent-encoded paths the same way on the stream and on every other route', async () => {
    const token = await gateway.token('alice')
    const stream = await exchange(
      gateway.url,
      `GET http://evil.example/v1/events?access_token=${token} HTTP/1.1\r\nHost: x\r\n\r\n`,
      (text) => text.includes('event: herald.ready'),
    )
    expect(stream).toMatch(/^HTTP\/1\.1 200 /)
    expect(stream).toContain('Content-Type: text/event-stream')
    expect((await get('http://evil.example/healthz', 'Host: x\r\n')).status).toBe(200)
    expect((await get('http://evil.example/v1/events', 'Host: x\r\n')).code).toBe('HERALD_ERR_TOKEN_MISSING')

    for (const method of ['GET', 'POST', 'HEAD']) {
      const answer = parse(
        await exchange(
          gateway.url,
          `${method} /v1/%65vents HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        ),
      )
      expect(answer.status, method).toBe(404)
      if (method !== 'HEAD') expect(answer.code).toBe('HERALD_ERR_NOT_FOUND')
    }
    expect(await get('/heal%74hz', 'Host: x\r\n')).toMatchObject({ status: 404, code: 'HERALD_ERR_NOT_FOUND' })
    expect(await get('/v1/x/../events', 'Host: x\r\n')).toMatchObject({ status: 400, code: 'HERALD_ERR_BAD_REQUEST' })
    expect(await get('/v1\\events', 'Host: x\r\n')).toMatchObject({ status: 400, code: 'HERALD_ERR_BAD_REQUEST' })
  })

  it('answers what Node refuses before any route (unparsable, oversized headers, an unknown Expect) as JSON errors, and logs them', async () => {
    const answers = {
      headersTooLarge: await exchange(
        gateway.url,
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
      ),
      bothLengths: await exchange(
        gateway.url,
        'POST /v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
      garbage: await exchange(gateway.url, 'HELLO THERE\r\n\r\n'),
      expectation: await exchange(gateway.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n'),
      // Node reads any list with 100-continue in it as a request for 100 Continue.
      continueAndMore: await exchange(
        gateway.url,
        'POST /v1/publish HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, foo\r\nContent-Length: 2\r\n\r\n',
      ),
    }
    const seen = Object.fromEntries(Object.entries(answers).map(([name, text]) => [name, parse(text)]))
    expect(seen).toMatchObject({
      headersTooLarge: { status: 431, code: 'HERALD_ERR_HEADERS_TOO_LARGE' },
      bothLengths: { status: 400, code: 'HERALD_ERR_BAD_REQUEST' },
      garbage: { status: 400, code: 'HERALD_ERR_BAD_REQUEST' },
      expectation: { status: 417, code: 'HERALD_ERR_EXPECTATION_FAILED' },
      continueAndMore: { status: 417, code: 'HERALD_ERR_EXPECTATION_FAILED' },
    })
    for (const answer of Object.values(seen)) expect(answer.headers).toContain('content-type: application/json')
    for (const code of ['HERALD_ERR_HEADERS_TOO_LARGE', 'HERALD_ERR_EXPECTATION_FAILED'])
      expect(logged.join('')).toContain(`"code":"${code}"`)
  })

  it("closes the gateway's side of a connection Node refuses, though its peer never reads nor closes", async () => {
    const { port } = new URL(gateway.url)
    // The gateway's own sockets, as Node accepts them: whether the fd is released shows there only.
    const accepted = new Map<number, net.Socket>()
    let onAccepted = () => {}
    const onSocket = (message: unknown) => {
      const { socket } = message as { socket: net.Socket }
      if (socket.remotePort !== undefined) accepted.set(socket.remotePort, socket)
      onAccepted()
    }
    /** The gateway's side of `peer`, once the gateway has accepted it. */
    const gatewaySideOf = (peer: net.Socket) =>
      new Promise<net.Socket>((resolve) => {
        onAccepted = () => {
          const socket = accepted.get(peer.localPort!)
          if (socket !== undefined) resolve(socket)
        }
        onAccepted()
      })
    subscribe('net.server.socket', onSocket)
    const peers: net.Socket[] = []
    try {
      for (const bytes of ['FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n']) {
        const peer = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true })
        peer.on('error', () => {})
        peers.push(peer)
        await once(peer, 'connect')
        peer.pause()
        peer.write(bytes)
        const gatewaySide = await withTimeout(gatewaySideOf(peer), 3000, () => 'the gateway accepting the socket')
        if (gatewaySide.destroyed) continue
        await withTimeout(
          once(gatewaySide, 'close'),
          3000,
          () => `the gateway kept the socket after ${bytes.slice(0, 12)}`,
        )
      }
    } finally {
      unsubscribe('net.server.socket', onSocket)
      for (const peer of peers) peer.destroy()
    }
  })

  it('closes the connection after a refusal whose declared body has not all arrived, instead of reading the rest', async () => {
    // 10 MB declared, a few bytes sent, and no more: kept alive, the connection would wait for
    // the rest until the request timeout. exchange resolves once the server closes it.
    const body = 'Content-Length: 10000000\r\n\r\n{"a'
    const refusals = {
      stream: await exchange(gateway.url, `GET /v1/events HTTP/1.1\r\nHost: x\r\n${body}`),
      forbidden: await exchange(
        gateway.url,
        `GET /v1/events?access_token=${await gateway.token('bob', { topics: ['x'] })}&topics=nope HTTP/1.1\r\nHost: x\r\n${body}`,
      ),
      publish: await exchange(
        gateway.url,
        `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n${body}`,
      ),
      notFound: await exchange(gateway.url, `POST /nope HTTP/1.1\r\nHost: x\r\n${body}`),
    }
    const seen = Object.fromEntries(Object.entries(refusals).map(([name, text]) => [name, parse(text)]))
    expect(seen).toMatchObject({
      stream: { status: 401, code: 'HERALD_ERR_TOKEN_MISSING' },
      forbidden: { status: 403, code: 'HERALD_ERR_TOPIC_FORBIDDEN' },
      publish: { status: 401, code: 'HERALD_ERR_PUBLISH_KEY_INVALID' },
      notFound: { status: 404, code: 'HERALD_ERR_NOT_FOUND' },
    })
    for (const answer of Object.values(seen)) expect(answer.headers).toContain('connection: close')
    // Without a body, a refusal leaves the connection open for the next request.
    for (const request of ['GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n', 'POST /nope HTTP/1.1\r\nHost: x\r\n\r\n']) {
      const answer = await exchange(gateway.url, request, (text) => text.includes('}}'))
      expect(parse(answer).headers, request).toContain('connection: keep-alive')
    }
  })

  it('answers CONNECT as any method a path does not take, and closes: Node drops it unanswered by default', async () => {
    const connect = async (target: string) =>
      parse(await exchange(gateway.url, `CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1:6379\r\n\r\n`))
    expect(await connect('/v1/publish')).toMatchObject({ status: 405, code: 'HERALD_ERR_METHOD_NOT_ALLOWED' })
    expect((await connect('/v1/publish')).headers).toContain('allow: post')
    expect(await connect('/v1/events')).toMatchObject({ status: 405, code: 'HERALD_ERR_METHOD_NOT_ALLOWED' })
    expect(await connect('127.0.0.1:6379')).toMatchObject({ status: 400, code: 'HERALD_ERR_BAD_REQUEST' })
    expect(logged.join('')).toContain('"method":"CONNECT","url":"127.0.0.1:6379","status":400')
  })

  it('answers the requests ahead of a pipelined CONNECT and closes, unharmed: it threw out of the listener', async () => {
    for (const first of ['GET /healthz', 'GET /nope', 'GET /v1/events']) {
      const answer = await exchange(
        gateway.url,
        `${first} HTTP/1.1\r\nHost: x\r\n\r\nCONNECT / HTTP/1.1\r\nHost: x\r\n\r\n`,
      )
      // exchange resolves on the server's close: one answer, the first request's, then the close.
      expect([first, answer.match(/^HTTP\/1\.1 /gm)?.length]).toEqual([first, 1])
    }
    // Behind a stream, the stream goes on, and the connection closes when it ends.
    const token = await signToken('connect-behind')
    const socket = net.connect(Number(new URL(gateway.url).port), '127.0.0.1')
    await once(socket, 'connect')
    let received = ''
    socket.on('data', (chunk) => {
      received += chunk
    })
    socket.write(
      `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\nCONNECT / HTTP/1.1\r\nHost: x\r\n\r\n`,
    )
    await withTimeout(
      (async () => {
        while (!received.includes('herald.ready')) await once(socket, 'data')
      })(),
      10_000,
      () => `no herald.ready: ${received}`,
    )
    expect((await get('/healthz', 'Host: x\r\n')).status).toBe(200)
    socket.destroy()
  })

  it("counts refusals answered before any route ran as the route's own, and logs each with its request line and code", async () => {
    const metric = async (pattern: RegExp) =>
      Number(pattern.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1] ?? 0)
    const publishRefused = () => metric(/^herald_publish_refusals_total\{reason="bad_request"\} (\d+)$/m)
    const streamRejected = () => metric(/^herald_connections_rejected_total\{reason="bad_request"\} (\d+)$/m)
    const before = [await publishRefused(), await streamRejected()]
    const publish = async (headers: string) =>
      parse(
        await exchange(
          gateway.url,
          `POST /v1/publish HTTP/1.1\r\n${headers}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
        ),
      ).status
    expect([
      await publish('Host: a\r\nHost: b\r\n'),
      await publish('Host: x\r\nExpect: foo\r\n'),
      await publish(`Host: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n`),
      await publish(`Host: x\r\n${'X: 1\r\n'.repeat(1100)}`),
    ]).toEqual([400, 417, 431, 431])
    const gzip = await exchange(
      gateway.url,
      `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n{}`,
    )
    expect(parse(gzip)).toMatchObject({ status: 400, code: 'HERALD_ERR_BAD_REQUEST' })
    const stream = await exchange(
      gateway.url,
      'GET /v1/events HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n',
    )
    expect(parse(stream).status).toBe(400)
    expect([(await publishRefused()) - before[0]!, (await streamRejected()) - before[1]!]).toEqual([5, 1])
    const lines = logged
      .map((line) => JSON.parse(line))
      .filter((line) => line.msg === 'request' && line.url === '/v1/publish')
    expect(lines.map((line) => [line.method, line.status, line.code]).slice(-5)).toEqual([
      ['POST', 400, 'HERALD_ERR_BAD_REQUEST'],
      ['POST', 417, 'HERALD_ERR_EXPECTATION_FAILED'],
      ['POST', 431, 'HERALD_ERR_HEADERS_TOO_LARGE'],
      ['POST', 431, 'HERALD_ERR_HEADERS_TOO_LARGE'],
      ['POST', 400, 'HERALD_ERR_BAD_REQUEST'],
    ])
  })

  it('stays up when clients reset connections that carried a CONNECT, alone or pipelined behind a publish', async () => {
    const port = Number(new URL(gateway.url).port)
    const body = JSON.stringify({ user: 'reset-connect', data: 1 })
    const behindPublish =
      `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n`
    for (let n = 0; n < 60; n++) {
      const socket = net.connect(port, '127.0.0.1')
      await once(socket, 'connect')
      socket.on('error', () => {})
      socket.write(n % 2 === 0 ? 'CONNECT /healthz HTTP/1.1\r\nHost: x\r\n\r\n' : behindPublish)
      // The reset lands at varying points of the server's handling: before, during, after the answer.
      for (let turn = 0; turn < n % 4; turn++) await new Promise((resolve) => setImmediate(resolve))
      socket.resetAndDestroy()
    }
    expect((await get('/healthz', 'Host: x\r\n')).status).toBe(200)
  })

  it('closes the connection after answering a request that asks to upgrade it, where Node would read no request behind it', async () => {
    const upgrade =
      'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n'
    // exchange resolves on the server's close: at once, not after the keep-alive timeout.
    const answer = await exchange(gateway.url, `${upgrade}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`)
    expect(parse(answer).status).toBe(200)
    expect(parse(answer).headers).toContain('connection: close')
    // A refusal for its target or Host too.
    const refused = await exchange(
      gateway.url,
      `${upgrade.replace('/healthz', '/a/../healthz')}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
    )
    expect(parse(refused).status).toBe(400)
    expect(parse(refused).headers).toContain('connection: close')
  })

  it('refuses a request line of any HTTP version but 1.0 and 1.1 with 400, as the README says', async () => {
    for (const version of ['2.0', '1.2', '0.9']) {
      const answer = parse(await exchange(gateway.url, `GET /healthz HTTP/${version}\r\nHost: x\r\n\r\n`))
      expect(answer, version).toMatchObject({ status: 400, code: 'HERALD_ERR_BAD_REQUEST' })
    }
  })

  it('invites a publish body with 100 Continue only once the key and the size have passed', async () => {
    const body = JSON.stringify({ user: 'alice', data: 1 })
    const head = (key: string) =>
      `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`

    const refused = await exchange(gateway.url, head('wrong-key'))
    expect(refused).not.toContain('100 Continue')
    expect(parse(refused)).toMatchObject({ status: 401, code: 'HERALD_ERR_PUBLISH_KEY_INVALID' })
    const tooLarge = await exchange(
      gateway.url,
      head(TEST_API_KEY).replace(/Content-Length: \d+/, 'Content-Length: 9999999'),
    )
    expect(tooLarge).not.toContain('100 Continue')
    expect(parse(tooLarge)).toMatchObject({ status: 413, code: 'HERALD_ERR_BODY_TOO_LARGE' })

    // Declared, or chunked (read by the body limit, which must not wait for a body never invited).
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
    for (const [framing, sent] of [
      [`Content-Length: ${body.length}`, body],
      ['Transfer-Encoding: chunked', chunked],
    ] as const) {
      const { hostname, port } = new URL(gateway.url)
      const socket = net.connect(Number(port), hostname, () =>
        socket.write(head(TEST_API_KEY).replace(/Content-Length: \d+/, framing)),
      )
      socket.setEncoding('latin1')
      let text = ''
      const answered = withTimeout(
        new Promise<string>((resolve) => {
          socket.on('data', (chunk: string) => {
            text += chunk
            // The body goes only once invited, as a client that honours Expect would send it.
            if (text === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(sent)
          })
          socket.on('close', () => resolve(text))
        }),
        5000,
        () => `publish (${framing}) not answered: ${JSON.stringify(text)}`,
      )
      const accepted = await answered
      expect(accepted.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 '), framing).toBe(true)
    }
  })
})

describe('a request that takes too long to arrive', () => {
  it("leaves a stream open past it: the stream's request arrived whole at its head", async () => {
    const gateway = await startTestGateway({ HEARTBEAT_INTERVAL_MS: '100' }, { requestTimeoutMs: 1000 })
    const stream = new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${await gateway.token('long')}` })
    try {
      // 30 heartbeats, one per 100 ms of silence: past the 1.5 s by which a late request is cut.
      await stream.until((s) => s.comments.length >= 30, 10_000, '30 heartbeats')
      expect((await gateway.publish({ user: 'long', data: 'still here' })).status).toBe(200)
      await stream.until((s) => s.events.some((e) => e.type === 'message'), 5000, 'the message')
      expect(stream.isEnded).toBe(false)
    } finally {
      stream.close()
      await gateway.close()
    }
  })

  it('is answered 408 and logged as such, whether its head or its body is late, and a late publish stores nothing', async () => {
    const { logger, lines: logged } = recordingLogger('info')
    // Node checks every half of the timeout: the answer comes after 1 to 1.5 s.
    const gateway = await startTestGateway({}, { logger, requestTimeoutMs: 1000 })
    try {
      const body = JSON.stringify({ user: 'slow', data: 'never whole' })
      const lateBody = `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`
      const lateHead = 'GET /healthz HTTP/1.1\r\nHost: x\r\n'
      for (const request of [lateBody, lateHead]) {
        const answer = parse(await exchange(gateway.url, request))
        expect([answer.status, answer.code], request).toEqual([408, 'HERALD_ERR_REQUEST_TIMEOUT'])
      }
      const lines = logged.map((line) => JSON.parse(line)).filter((line) => line.status !== undefined)
      expect(lines.map((line) => [line.method, line.status, line.code])).toEqual([
        ['POST', 408, 'HERALD_ERR_REQUEST_TIMEOUT'],
        ['', 408, 'HERALD_ERR_REQUEST_TIMEOUT'],
      ])
      expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^herald_messages_published_total 0$/m)
    } finally {
      await gateway.close()
    }
  })
})

describe('the address a gateway reports', () => {
  it.each([
    ['0.0.0.0', /^0\.0\.0\.0:\d+$/, /^http:\/\/127\.0\.0\.1:\d+$/],
    ['::', /^\[::\]:\d+$/, /^http:\/\/\[::1\]:\d+$/],
  ])('on HOST=%s is the address as bound, and its URL reaches it on this host', async (host, address, url) => {
    const gateway = await startTestGateway({ HOST: host, PORT: '0' })
    try {
      expect(gateway.address).toMatch(address)
      expect(gateway.url).toMatch(url)
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200)
    } finally {
      await gateway.close()
    }
  })
})

describe('startup warnings', () => {
  it('names a variable that looks like a misspelling of one Herald reads, and never its value', async () => {
    const { logger, lines: logged } = recordingLogger('info')
    const gateway = await startTestGateway({ PUBLISH_WAIT_REPLICA: 'value-that-must-not-be-logged' }, { logger })
    try {
      const warnings = logged.map((line) => JSON.parse(line)).filter((line) => line.variable !== undefined)
      expect(warnings).toEqual([
        expect.objectContaining({
          level: 40,
          variable: 'PUBLISH_WAIT_REPLICA',
          meant: 'PUBLISH_WAIT_REPLICAS',
          msg: 'PUBLISH_WAIT_REPLICA is not a variable Herald reads; is it PUBLISH_WAIT_REPLICAS, misspelt?',
        }),
      ])
      expect(logged.join('')).not.toContain('value-that-must-not-be-logged')
    } finally {
      await gateway.close()
    }
  })
})
