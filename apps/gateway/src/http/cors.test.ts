import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RawSseStream, startTestGateway, type TestGateway } from '../../test/harness.js'
import { corsHeaders } from './cors.js'

describe('corsHeaders', () => {
  it('echoes only allowlisted origins, with credentials', () => {
    const allowed = new Set(['https://app.example.com'])
    expect(corsHeaders('https://app.example.com', allowed)).toEqual({
      'Access-Control-Allow-Origin': 'https://app.example.com',
      'Access-Control-Allow-Credentials': 'true',
      Vary: 'Origin',
    })
    expect(corsHeaders('https://evil.example', allowed)).toEqual({})
    expect(corsHeaders(undefined, allowed)).toEqual({})
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

  it('answers preflight only for allowed origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${gateway.url}/v1/events`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'authorization,last-event-id',
        },
      })
    const allowed = await preflight('https://app.example.com')
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Last-Event-ID/i)
    const denied = await preflight('https://evil.example')
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
  })
})
