import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  exchange,
  parse,
  RawSseStream,
  RecordingEventSource,
  startTestGateway,
  type TestGateway,
} from '../../test/harness.js'
import { eventsRoute } from './events-route.js'

describe('GET /v1/events', () => {
  let gateway: TestGateway
  const open: Array<{ close(): void }> = []
  const track = <T extends { close(): void }>(client: T): T => {
    open.push(client)
    return client
  }

  beforeEach(async () => {
    gateway = await startTestGateway({ HEARTBEAT_INTERVAL_MS: '100' })
  })
  afterEach(async () => {
    for (const client of open.splice(0)) client.close()
    await gateway.close()
  })

  it('delivers a user notification to every tab of that user and no one else', async () => {
    const tabs = [1, 2].map(async () =>
      track(
        new RecordingEventSource(gateway.eventsUrl(), {
          token: await gateway.token('alice'),
          types: ['invoice.paid'],
        }),
      ),
    )
    const [tab1, tab2] = await Promise.all(tabs)
    const bob = track(
      new RecordingEventSource(gateway.eventsUrl(), {
        token: await gateway.token('bob'),
        types: ['invoice.paid'],
      }),
    )
    await Promise.all([tab1!.waitForReady(), tab2!.waitForReady(), bob.waitForReady()])

    const published = await gateway.publish({
      user: 'alice',
      type: 'invoice.paid',
      data: { amount: 42 },
    })
    expect(published.status).toBe(200)
    expect(published.body.id).toMatch(/^\d+-\d+$/)
    await Promise.all([tab1!.waitForEvents(1, 'invoice.paid'), tab2!.waitForEvents(1, 'invoice.paid')])
    expect(tab1!.payloads('invoice.paid')).toEqual([{ amount: 42 }])
    expect(tab2!.payloads('invoice.paid')).toEqual([{ amount: 42 }])

    await gateway.publish({ user: 'bob', data: 'for bob' })
    await bob.waitForEvents(1)
    expect(bob.events.map((e) => [e.type, e.data])).toEqual([['message', '"for bob"']])
  })

  it('answers with SSE headers, a retry hint, a starting position and heartbeats', async () => {
    const stream = track(
      new RawSseStream(gateway.eventsUrl(), {
        Authorization: `Bearer ${await gateway.token('alice')}`,
      }),
    )
    await stream.until((s) => s.comments.length >= 2, 5000, 'two heartbeats')
    expect(stream.status).toBe(200)
    expect(stream.headers['content-type']).toBe('text/event-stream')
    expect(stream.headers['cache-control']).toBe('no-cache')
    expect(stream.headers['x-accel-buffering']).toBe('no')
    expect(stream.retries).toEqual([100])
    expect(stream.ids[0]).toMatch(/^u[0-9a-f]{8}:\d+-\d+$/)
    expect(stream.text.startsWith('retry: 100\n')).toBe(true)
  })

  it('answers another method on the stream path with 405 and Allow: GET', async () => {
    // OPTIONS too: without CORS_ALLOWED_ORIGINS there are no preflights to answer.
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']) {
      const response = await fetch(gateway.eventsUrl(), { method })
      expect(response.status, method).toBe(405)
      expect(response.headers.get('allow')).toBe('GET')
      if (method !== 'HEAD') expect(((await response.json()) as any).error.code).toBe('HERALD_ERR_METHOD_NOT_ALLOWED')
    }
  })

  it('reads the token from the cookie and from access_token', async () => {
    const token = await gateway.token('carol')
    const viaCookie = track(new RawSseStream(gateway.eventsUrl(), { Cookie: `theme=dark; herald_token=${token}` }))
    const viaQuery = track(new RawSseStream(gateway.eventsUrl({ access_token: token })))
    await Promise.all([viaCookie, viaQuery].map((s) => s.until((x) => x.ids.length > 0, 5000, 'a position')))
    await gateway.publish({ user: 'carol', data: 1 })
    const delivered = (x: RawSseStream) => x.events.filter((e) => e.type === 'message').map((e) => e.data)
    await Promise.all([viaCookie, viaQuery].map((s) => s.until((x) => delivered(x).length > 0, 5000, 'the event')))
    expect([delivered(viaCookie), delivered(viaQuery)]).toEqual([['1'], ['1']])
  })

  it('refuses two Authorization headers, or a Bearer token with more after it, as malformed, as the publish key is', async () => {
    const token = await gateway.token('carol')
    const refused = async (headers: string) =>
      parse(await exchange(gateway.url, `GET /v1/events HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`))
    for (const headers of [
      `Authorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\n`,
      `Authorization: Bearer ${token}\r\nAuthorization: Basic dXNlcjpwdw==\r\n`,
      `Authorization: Bearer ${token} extra\r\n`,
      `Authorization: Bearer ${token} extra\r\nCookie: herald_token=${token}\r\n`,
    ]) {
      expect(await refused(headers), headers.replaceAll(token, '<token>')).toMatchObject({
        status: 401,
        code: 'HERALD_ERR_TOKEN_MALFORMED',
      })
    }
  })

  it('refuses a misspelt topics, lastEventId or access_token parameter, which would be ignored, with a 400 naming the right one', async () => {
    const token = await gateway.token('carol')
    for (const [query, meant] of [
      ['topic=news', 'topics'],
      ['topics%5B%5D=news', 'topics'],
      ['last_event_id=u00000001%3A5-0', 'lastEventId'],
    ]) {
      const answer = await exchange(
        gateway.url,
        `GET /v1/events?${query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
      )
      expect(parse(answer), query).toMatchObject({ status: 400, code: 'HERALD_ERR_BAD_REQUEST' })
      expect(answer, query).toContain(`send ${meant}=`)
    }
    // A parameter the stream does not know of at all (a cache-buster) is still no error.
    const busted = await exchange(
      gateway.url,
      `GET /v1/events?_=1733500000000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      (text) => text.includes('event: herald.ready'),
    )
    expect(busted).toMatch(/^HTTP\/1\.1 200 /)
  })

  it('refuses a request with more header fields than Node keeps, so that none past them goes unseen', async () => {
    const token = await gateway.token('carol')
    const head = (fields: number) =>
      `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n${'X: 1\r\n'.repeat(fields)}`
    // A second Authorization after the fields Node keeps: Node dropped it, and the stream opened.
    const hidden = `${head(1100)}Authorization: Bearer not-a-token\r\nConnection: close\r\n\r\n`
    expect(parse(await exchange(gateway.url, hidden))).toMatchObject({
      status: 431,
      code: 'HERALD_ERR_HEADERS_TOO_LARGE',
    })
    // Fewer fields are served as ever: here the stream opens.
    const many = `${head(900)}\r\n`
    expect(await exchange(gateway.url, many, (text) => text.includes('event: herald.ready'))).toMatch(
      /^HTTP\/1\.1 200 /,
    )
  })

  it("keeps no token in an open stream's request, whichever way the token came", async () => {
    // The route on a server of the test's own, beside the gateway's, so the test sees each request object.
    const requests: IncomingMessage[] = []
    const route = eventsRoute(gateway.services)
    const server = createServer((request, response) => {
      requests.push(request)
      route(request, response)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`
    try {
      const token = await gateway.token('dora')
      const streams = [
        track(new RawSseStream(url, { Authorization: `Bearer ${token}` })),
        track(new RawSseStream(url, { Cookie: `theme=dark; herald_token=${token}` })),
        track(new RawSseStream(`${url}?access_token=${token}&lastEventId=`)),
      ]
      await Promise.all(streams.map((s) => s.until((x) => x.ids.length > 0, 5000, 'a position')))
      expect(requests).toHaveLength(3)
      for (const request of requests) {
        expect(request.url).toBe('/v1/events')
        expect(request.rawHeaders.join('\n')).not.toContain(token)
        expect(request.rawHeaders.join('\n')).not.toContain(token.slice(0, 20))
        expect(JSON.stringify(request.headers)).not.toContain(token.slice(0, 20))
      }
      // Still streams: the next event reaches every one of them.
      await gateway.publish({ user: 'dora', data: 7 })
      await Promise.all(
        streams.map((s) => s.until((x) => x.events.some((e) => e.type === 'message'), 5000, 'the event')),
      )
    } finally {
      for (const stream of open.splice(0)) stream.close()
      server.closeAllConnections()
      server.close()
    }
  })

  it('delivers granted topics and refuses others with 403 or 400 JSON', async () => {
    const token = await gateway.token('dave', { topics: ['news', 'org/7/*'] })
    const client = track(new RecordingEventSource(gateway.eventsUrl({ topics: 'news,org/7/billing' }), { token }))
    await client.waitForReady()
    await gateway.publish({ topic: 'news', data: 'n1' })
    await gateway.publish({ topic: 'org/7/billing', data: 'b1' })
    await gateway.publish({ topic: 'org/8/billing', data: 'not for dave' })
    await gateway.publish({ user: 'dave', data: 'd1' })
    await client.waitForEvents(3)
    expect(client.payloads()).toEqual(['n1', 'b1', 'd1'])
    // Every event carries a position for all three channels.
    expect(client.events[2]!.lastEventId.split(',')).toHaveLength(3)

    const forbidden = track(
      new RawSseStream(gateway.eventsUrl({ topics: 'news,secret' }), {
        Authorization: `Bearer ${token}`,
      }),
    )
    await forbidden.ended
    expect(forbidden.status).toBe(403)
    expect(forbidden.json().error.code).toBe('HERALD_ERR_TOPIC_FORBIDDEN')

    const invalid = track(
      new RawSseStream(gateway.eventsUrl({ topics: 'news,{x}' }), {
        Authorization: `Bearer ${token}`,
      }),
    )
    await invalid.ended
    expect(invalid.status).toBe(400)
    expect(invalid.json().error.code).toBe('HERALD_ERR_TOPIC_INVALID')
  })

  it('joins topics given as repeated parameters, and takes the first non-empty access_token', async () => {
    const token = await gateway.token('fay', { topics: ['news', 'sport'] })
    const url = `${gateway.url}/v1/events?topics=news&topics=&topics=sport&access_token=&access_token=${token}`
    const client = track(new RecordingEventSource(url, {}))
    await client.waitForReady()
    await gateway.publish({ topic: 'news', data: 'n1' })
    await gateway.publish({ topic: 'sport', data: 's1' })
    await client.waitForEvents(2)
    expect(client.payloads()).toEqual(['n1', 's1'])
    expect(client.events[1]!.lastEventId.split(',')).toHaveLength(3)
  })

  it('keeps CR and LF in payloads as data: they can never start a field or an event', async () => {
    const client = track(
      new RecordingEventSource(gateway.eventsUrl(), {
        token: await gateway.token('erin'),
        types: ['t'],
      }),
    )
    await client.waitForReady()
    const hostile = [
      'line1\nevent: evil\ndata: injected',
      'a\r\n\r\nid: 999\r\ndata: x',
      '\r\rretry: 1\r',
      { nested: 'x\n\ndata: y', 'key\nevent: k': 'v' },
    ]
    for (const data of hostile) expect((await gateway.publish({ user: 'erin', type: 't', data })).status).toBe(200)
    await client.waitForEvents(hostile.length, 't')
    expect(client.events.map((e) => e.type)).toEqual(hostile.map(() => 't'))
    expect(client.payloads('t')).toEqual(hostile)

    const injectedType = await gateway.publish({ user: 'erin', type: 'ok\nevent: evil', data: 1 })
    expect(injectedType.status).toBe(400)
    expect(injectedType.body.error.code).toBe('HERALD_ERR_BODY_INVALID')
  })

  it('sends heartbeats only to quiet streams: a stream that carries events gets none', async () => {
    await gateway.close()
    // A pass every 500 ms: the busy stream would have to go that long without an event to get one.
    gateway = await startTestGateway({ HEARTBEAT_INTERVAL_MS: '1000' })
    const quiet = track(new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${await gateway.token('q')}` }))
    const busy = track(new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${await gateway.token('b')}` }))
    await Promise.all([quiet, busy].map((s) => s.until((x) => x.ids.length > 0, 5000, 'a position')))
    const delivered = () => busy.events.filter((e) => e.type === 'message').length
    let published = 0
    while (quiet.comments.length < 2) {
      await gateway.publish({ user: 'b', data: published++ })
      await busy.until(() => delivered() >= published, 5000, `event ${published}`)
    }
    expect(busy.comments).toEqual([])
    expect(delivered()).toBe(published)
  })

  it('closes the stream when the token expires', async () => {
    await gateway.close()
    gateway = await startTestGateway({ TOKEN_EXPIRY_JITTER_MS: '0' })
    const token = await gateway.token('frank', { expiresIn: Math.floor(Date.now() / 1000) + 2 })
    const stream = track(new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${token}` }))
    await stream.until((s) => s.ids.length > 0, 5000, 'a position')
    expect(gateway.services.hub.connectionCount).toBe(1)
    await stream.ended
    expect(gateway.services.hub.connectionCount).toBe(0)
  })
})

describe('GET /v1/events when the node is full', () => {
  let gateway: TestGateway
  afterEach(() => gateway.close())

  it('turns extra streams away with 200, a retry hint and herald.unavailable, never an error status', async () => {
    gateway = await startTestGateway({ MAX_CONNECTIONS: '2', MAX_CONNECTIONS_PER_USER: '1' })
    const first = new RawSseStream(gateway.eventsUrl(), {
      Authorization: `Bearer ${await gateway.token('a')}`,
    })
    await first.until((s) => s.ids.length > 0, 5000, 'first stream open')

    const sameUser = new RawSseStream(gateway.eventsUrl(), {
      Authorization: `Bearer ${await gateway.token('a')}`,
    })
    await sameUser.ended
    expect(sameUser.status).toBe(200)
    expect(sameUser.events).toEqual([expect.objectContaining({ type: 'herald.unavailable' })])
    expect(JSON.parse(sameUser.events[0]!.data).reason).toBe('user_limit')
    expect(sameUser.retries[0]).toBeGreaterThanOrEqual(1000)

    const second = new RawSseStream(gateway.eventsUrl(), {
      Authorization: `Bearer ${await gateway.token('b')}`,
    })
    await second.until((s) => s.ids.length > 0, 5000, 'second stream open')
    const third = new RawSseStream(gateway.eventsUrl(), {
      Authorization: `Bearer ${await gateway.token('c')}`,
    })
    await third.ended
    expect(JSON.parse(third.events[0]!.data)).toEqual({
      reason: 'over_capacity',
      retryMs: third.retries[0],
    })
    // A full node frees the socket with the answer: one a client kept open would hold a file
    // descriptor the node is short of. A shed for another reason leaves the connection open.
    expect(third.headers['connection']).toBe('close')
    expect(sameUser.headers['connection']).toBe('keep-alive')

    first.close()
    const fourth = await connectOnceAccepted(gateway.eventsUrl(), {
      Authorization: `Bearer ${await gateway.token('c')}`,
    })
    expect(fourth.ids[0]).toMatch(/^u[0-9a-f]{8}:/)
    second.close()
    fourth.close()
  })
})

describe('GET /v1/events in a reconnect storm', () => {
  let gateway: TestGateway
  afterEach(() => gateway.close())

  it('admits new streams at the configured rate and sheds the rest with herald.unavailable', async () => {
    gateway = await startTestGateway({ CONNECTION_RATE_PER_SECOND: '1', CONNECTION_RATE_BURST: '2' })
    const streams = await Promise.all(
      ['a', 'b', 'c', 'd'].map(
        async (user) => new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${await gateway.token(user)}` }),
      ),
    )
    await Promise.all(streams.map((s) => s.until((x) => x.events.length > 0, 5000, 'a first event')))
    const outcomes = streams.map((s) =>
      s.events[0]!.type === 'herald.ready' ? 'ready' : JSON.parse(s.events[0]!.data).reason,
    )
    expect(outcomes.sort()).toEqual(['rate_limited', 'rate_limited', 'ready', 'ready'])
    for (const s of streams) s.close()
  })

  it("spends no rate token on a stream refused for the user's limit, so one user cannot shed everyone else", async () => {
    gateway = await startTestGateway({
      CONNECTION_RATE_PER_SECOND: '1',
      CONNECTION_RATE_BURST: '2',
      MAX_CONNECTIONS_PER_USER: '1',
    })
    const headers = async (user: string) => ({ Authorization: `Bearer ${await gateway.token(user)}` })
    const held = new RawSseStream(gateway.eventsUrl(), await headers('mallory'))
    await held.until((s) => s.ids.length > 0, 5000, 'the held stream open')
    // More retries than the burst: each would otherwise take a token the next user needs.
    for (let retry = 0; retry < 3; retry++) {
      const again = new RawSseStream(gateway.eventsUrl(), await headers('mallory'))
      await again.ended
      expect(JSON.parse(again.events[0]!.data).reason, `retry ${retry}`).toBe('user_limit')
    }
    const victim = new RawSseStream(gateway.eventsUrl(), await headers('alice'))
    await victim.until((s) => s.events.length > 0, 5000, 'a first event')
    expect(victim.events[0]!.type).toBe('herald.ready')
    victim.close()
    held.close()
  })
})

/** Connects again each time the node turns the stream away (as EventSource would), until it is accepted. */
async function connectOnceAccepted(url: string, headers: Record<string, string>): Promise<RawSseStream> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const stream = new RawSseStream(url, headers)
    const accepted = await stream
      .until((s) => s.ids.length > 0, 5000, 'accepted')
      .then(
        () => true,
        () => false,
      )
    if (accepted) return stream
  }
  throw new Error('never accepted')
}
