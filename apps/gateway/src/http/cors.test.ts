import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RawSseStream, startTestGateway, type TestGateway } from '../../test/harness.js'
import { corsHeaders, EVENTS_EXPOSED_HEADERS, preflightHeaders } from './cors.js'

describe('corsHeaders', () => {
  it('echoes only allowlisted origins, with credentials, and varies on Origin for every other', () => {
    const allowed = new Set(['https://app.example.com'])
    expect(corsHeaders('https://app.example.com', allowed)).toEqual({
      'Access-Control-Allow-Origin': 'https://app.example.com',
      'Access-Control-Allow-Credentials': 'true',
      Vary: 'Origin',
    })
    expect(corsHeaders('https://evil.example', allowed)).toEqual({ Vary: 'Origin' })
    expect(corsHeaders(undefined, allowed)).toEqual({ Vary: 'Origin' })
  })

  it('exposes the headers asked for to an allowlisted origin only', () => {
    const allowed = new Set(['https://app.example.com'])
    expect(corsHeaders('https://app.example.com', allowed, EVENTS_EXPOSED_HEADERS)).toEqual({
      'Access-Control-Allow-Origin': 'https://app.example.com',
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Expose-Headers': 'Retry-After, X-Herald-Unavailable',
      Vary: 'Origin',
    })
    expect(corsHeaders('https://evil.example', allowed, EVENTS_EXPOSED_HEADERS)).toEqual({ Vary: 'Origin' })
  })

  it('adds nothing without an allowlist', () => {
    expect(corsHeaders('https://app.example.com', new Set())).toEqual({})
  })
})

describe('preflightHeaders', () => {
  it("grants an allowlisted origin the path's methods and the client's headers, and no one else anything", () => {
    const allowed = new Set(['https://app.example.com'])
    expect(preflightHeaders('https://app.example.com', allowed, ['POST'])).toEqual({
      'Access-Control-Allow-Methods': 'POST',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, Last-Event-ID',
      'Access-Control-Max-Age': '600',
    })
    expect(preflightHeaders('https://evil.example', allowed, ['POST'])).toEqual({})
    expect(preflightHeaders(undefined, allowed, ['POST'])).toEqual({})
  })
})

describe('CORS on a live gateway', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({ CORS_ALLOWED_ORIGINS: 'https://app.example.com' })
  })
  afterAll(() => gateway.close())

  it('lets an allowed origin read the stream with credentials, and no one else', async () => {
    const token = await gateway.token('alice')
    for (const [origin, expected] of [
      ['https://app.example.com', 'https://app.example.com'],
      ['https://evil.example', undefined],
    ] as const) {
      const stream = new RawSseStream(gateway.eventsUrl(), { Origin: origin, Cookie: `herald_token=${token}` })
      await stream.until((s) => s.status !== 0, 5000, 'headers')
      expect(stream.status).toBe(200)
      expect(stream.headers['access-control-allow-origin']).toBe(expected)
      expect(stream.headers['access-control-allow-credentials']).toBe(expected === undefined ? undefined : 'true')
      stream.close()
    }
  })

  it("lets an allowed origin read the stream route's error answers too, and no one else", async () => {
    for (const [origin, expected] of [
      ['https://app.example.com', 'https://app.example.com'],
      ['https://evil.example', null],
    ] as const) {
      const response = await fetch(`${gateway.url}/v1/events?topics=Not%20Valid`, {
        headers: { Origin: origin, Authorization: 'Bearer not-a-jwt' },
      })
      expect(response.status).toBe(401)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('HERALD_ERR_TOKEN_MALFORMED')
      expect(response.headers.get('access-control-allow-origin')).toBe(expected)
    }
  })

  it('sends Allow-Credentials only alongside an allowed origin, on every route', async () => {
    const requests: Array<[string, RequestInit]> = [
      ['/healthz', {}],
      ['/nope', {}],
      ['/v1/publish', { method: 'POST' }],
      ['/v1/publish', { method: 'GET' }],
      ['/v1/events', {}],
    ]
    for (const [path, init] of requests) {
      for (const origin of ['https://app.example.com', 'https://evil.example', undefined]) {
        const response = await fetch(`${gateway.url}${path}`, {
          ...init,
          headers: origin === undefined ? {} : { Origin: origin },
        })
        await response.body?.cancel()
        const allowed = origin === 'https://app.example.com'
        const what = `${init.method ?? 'GET'} ${path} from ${origin}`
        expect(response.headers.get('access-control-allow-origin'), what).toBe(allowed ? origin : null)
        expect(response.headers.get('access-control-allow-credentials'), what).toBe(allowed ? 'true' : null)
        expect(response.headers.get('vary'), what).toMatch(/Origin/)
      }
    }
  })

  const preflight = (path: string, origin: string, method = 'GET') =>
    fetch(`${gateway.url}${path}`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': 'authorization,last-event-id',
      },
    })

  it('answers preflight only for allowed origins', async () => {
    const allowed = await preflight('/v1/events', 'https://app.example.com')
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true')
    expect(allowed.headers.get('access-control-allow-methods')).toBe('GET')
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Last-Event-ID/i)
    expect(allowed.headers.get('allow')).toBe('GET, OPTIONS')
    const denied = await preflight('/v1/events', 'https://evil.example')
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
    expect(denied.headers.get('access-control-allow-credentials')).toBeNull()
    expect(denied.headers.get('access-control-allow-methods')).toBeNull()
  })

  it("answers preflight only on paths that exist, with each path's own methods", async () => {
    const publish = await preflight('/v1/publish', 'https://app.example.com', 'POST')
    expect(publish.status).toBe(204)
    expect(publish.headers.get('access-control-allow-methods')).toBe('POST')
    expect(publish.headers.get('allow')).toBe('POST, OPTIONS')

    const elsewhere = await preflight('/nope', 'https://evil.example')
    expect(elsewhere.status).toBe(404)
    expect(((await elsewhere.json()) as { error: { code: string } }).error.code).toBe('HERALD_ERR_NOT_FOUND')
    expect(elsewhere.headers.get('access-control-allow-methods')).toBeNull()
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull()
  })

  it("grants an allowed origin's preflight for a path that does not exist, so its page can read the 404", async () => {
    // A client pointed at the wrong URL: a refused preflight would read as a network error, retried for ever.
    const missing = await preflight('/v1/evnets', 'https://app.example.com')
    expect(missing.status).toBe(204)
    expect(missing.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(missing.headers.get('access-control-allow-methods')).toBe('GET')
    const answer = await fetch(`${gateway.url}/v1/evnets`, { headers: { Origin: 'https://app.example.com' } })
    expect(answer.status).toBe(404)
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('HERALD_ERR_NOT_FOUND')
  })
})

describe("CORS on a shed stream's answer", () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({ CORS_ALLOWED_ORIGINS: 'https://app.example.com', MAX_CONNECTIONS_PER_USER: '1' })
  })
  afterAll(() => gateway.close())

  it('lets an allowed origin read Retry-After and X-Herald-Unavailable, which @herald/client waits by', async () => {
    const token = await gateway.token('alice')
    const first = new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${token}` })
    await first.until((s) => s.status === 200, 5000, 'the first stream')
    try {
      for (const [origin, exposed] of [
        ['https://app.example.com', 'Retry-After, X-Herald-Unavailable'],
        ['https://evil.example', null],
      ] as const) {
        // A second stream of the user is shed; a proxy asking for it gets the 503 (shed.ts).
        const response = await fetch(gateway.eventsUrl(), {
          headers: { Origin: origin, Authorization: `Bearer ${token}`, 'X-Herald-Shed-Status': '503' },
        })
        await response.text()
        expect(response.status).toBe(503)
        expect(response.headers.get('x-herald-unavailable')).toBe('user_limit')
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(response.headers.get('access-control-expose-headers')).toBe(exposed)
      }
    } finally {
      first.close()
    }
  })
})

describe('CORS on a gateway without an allowlist', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway()
  })
  afterAll(() => gateway.close())

  it('sends no CORS headers, and answers OPTIONS with 405 or 404 like any other method', async () => {
    const headers = { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'GET' }
    for (const [path, status, allow] of [
      ['/v1/events', 405, 'GET'],
      ['/v1/publish', 405, 'POST'],
      ['/healthz', 405, 'GET, HEAD'],
      ['/nope', 404, null],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, { method: 'OPTIONS', headers })
      expect(response.status, path).toBe(status)
      expect(response.headers.get('allow'), path).toBe(allow)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(response.headers.get('access-control-allow-origin')).toBeNull()
      expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    }
    const plain = await fetch(`${gateway.url}/healthz`, { headers: { Origin: 'https://app.example.com' } })
    expect(plain.headers.get('access-control-allow-credentials')).toBeNull()
    expect(plain.headers.get('vary')).toBeNull()
  })
})
