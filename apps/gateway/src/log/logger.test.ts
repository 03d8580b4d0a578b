import { Writable } from 'node:stream'
import { startRedis } from '@herald/redis-harness'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RawSseStream, startTestGateway, withTimeout } from '../../test/harness.js'
import { LogBurstLimit, SHED_LOG_BURST } from './log-burst-limit.js'
import { createLogger, redactUrl } from './logger.js'

/** A test gateway whose log lines, parsed, collect in `lines`. */
async function gatewayLoggingLines(env: Record<string, string> = {}) {
  const lines: any[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  return { lines, gateway: await startTestGateway(env, { logger: createLogger('info', sink) }) }
}

describe('redactUrl', () => {
  it('censors a token carried in the path, by a client that encoded its ? or used ; parameters', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'
    expect(redactUrl(`/v1/events%3Faccess_token=${token}`)).toBe('/v1/[redacted]')
    expect(redactUrl(`/v1/events;access_token=${token}&topics=a`)).toBe('/v1/[redacted]')
    expect(redactUrl(`/v1/events;api_key=opaque-secret`)).toBe('/v1/[redacted]')
    expect(redactUrl(`/${token}?topics=a`)).toBe('/[redacted]?topics=a')
    // The token ahead of the separator, in a segment of its own.
    expect(redactUrl(`/v1/events/${token};x=1`)).toBe('/v1/events/[redacted]')
    expect(redactUrl(`/v1/events/${token}%20`)).toBe('/v1/events/[redacted]')
    expect(redactUrl(`/v1/events/${token}/a=b`)).toBe('/v1/events/[redacted]')
    expect(redactUrl('/v1/events;v=1')).toBe('/v1/events;v=1')
    expect(redactUrl('/v1/tokens/42')).toBe('/v1/tokens/42')
  })

  it('censors a token whose dots were encoded twice, or next to a malformed escape', () => {
    const [header, payload, signature] = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'.split('.')
    const twice = `${header}%252E${payload}%252E${signature}`
    expect(redactUrl(`/v1/events?q=${twice}`)).toBe('/v1/events?q=[redacted]')
    expect(redactUrl(`/v1/events?redirect=%252Fv1%252Fevents%253Faccess_token%253D${twice}`)).toBe(
      '/v1/events?redirect=[redacted]',
    )
    expect(redactUrl(`/v1/events/${twice}`)).toBe('/v1/events/[redacted]')
    expect(redactUrl(`/v1/events?q=%ZZ${header}%2E${payload}%2E${signature}`)).toBe('/v1/events?q=[redacted]')
    expect(redactUrl('/v1/events?topics=a%252Fb')).toBe('/v1/events?topics=a%252Fb')
  })

  it('finds a token where a run of base64url characters starts, after a long run without one', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'
    // Anyone can send a request line of eyJ runs without a dot; matching it from every eyJ took
    // quadratic time (an 16 KiB line: 150-250 ms, against 0.1-2 ms from each run's start).
    const run = 'eyJa'.repeat(4000)
    expect(redactUrl(`/healthz?x=${run}&t=${token}`)).toBe(`/healthz?x=${run}&t=[redacted]`)
    expect(redactUrl(`/${run}/${token}`)).toBe(`/${run}/[redacted]`)
    // Glued to the character before it only when encoded, which the decoded check still sees.
    expect(redactUrl(`/v1/events?auth=Bearer%20${token}`)).toBe('/v1/events?auth=[redacted]')
    expect(redactUrl(`/v1/events?x=${token.slice(0, 20)}`)).toBe(`/v1/events?x=${token.slice(0, 20)}`)
  })

  it('censors credential-bearing query parameters and keeps the rest', () => {
    expect(redactUrl('/v1/events?topics=a,b&access_token=eyJ.secret.sig&lastEventId=x')).toBe(
      '/v1/events?topics=a,b&access_token=[redacted]&lastEventId=x',
    )
    expect(redactUrl('/v1/events')).toBe('/v1/events')
  })

  it.each([
    'acc%65ss_token',
    'access_t%6Fken',
    'acc%65ss_t%6fken',
    '%61%63%63%65%73%73%5F%74%6F%6B%65%6E',
    'access%5ftoken',
  ])('censors %s, a name the server reads as access_token', (name) => {
    // The server's own reading of the name, so the test cannot drift from it.
    expect(new URLSearchParams(`${name}=x`).get('access_token')).toBe('x')
    expect(redactUrl(`/v1/events?topics=a&${name}=eyJ.secret.sig&lastEventId=1`)).toBe(
      `/v1/events?topics=a&${name}=[redacted]&lastEventId=1`,
    )
  })

  it('decodes names as URLSearchParams does: + is a space, malformed % sequences stay as they are', () => {
    expect(redactUrl('/v1/events?my+t%6Fken=S&x%zz_token=S&%e0%token=S')).toBe(
      '/v1/events?my+t%6Fken=[redacted]&x%zz_token=[redacted]&%e0%token=[redacted]',
    )
    // A name the server reads as access_token keeps nothing of its value, whichever pair it is in.
    expect(redactUrl('/v1/events?access_token=&acc%65ss_token=S')).toBe(
      '/v1/events?access_token=[redacted]&acc%65ss_token=[redacted]',
    )
  })

  it('censors a token hidden in a name, behind a semicolon, or under any name', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl'
    for (const query of [
      `access_token=${jwt}&access_token%3D${jwt}`,
      `access_token%3D${jwt}`,
      `x=1;access_token=${jwt}`,
      `lastEventId=${jwt}`,
      `t=${jwt.replace('J', '%4A')}`,
    ]) {
      const logged = redactUrl(`/v1/events?${query}`)
      expect(logged, query).not.toContain('c2lnbmF0dXJl')
      expect(logged, query).not.toContain('eyJzdWIi')
    }
    expect(redactUrl(`/v1/events?topics=a&access_token%3D${jwt}`)).toBe('/v1/events?topics=a&[redacted]')
    expect(redactUrl(`/v1/events?x=1;access_token=${jwt}&y=2`)).toBe('/v1/events?[redacted]&y=2')
  })

  it('keeps parameters that carry no credential readable, encoded or not', () => {
    const url = '/v1/events?topics=org%2F42%2Fbilling,news&lastEventId=a%2Bb&t%6Fpics=x&+=y&&z'
    expect(redactUrl(url)).toBe(url)
  })
})

describe('createLogger', () => {
  it('censors token, authorization and secret fields at any depth', () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const logger = createLogger('info', sink)
    logger.info({ token: 'T1', req: { headers: { authorization: 'Bearer T2', cookie: 'herald_token=T3' } } }, 'x')
    logger.info({ secret: 'T4', config: { apiKey: 'T5' } }, 'y')
    const text = lines.join('')
    for (const secret of ['T1', 'T2', 'T3', 'T4', 'T5']) expect(text).not.toContain(secret)
    expect(text).toContain('[redacted]')
  })
})

describe('the access log of a stream', () => {
  it('holds no token when the stream was opened with a percent-encoded access_token', async () => {
    const lines: string[] = []
    let logged: (line: string) => void = () => {}
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        logged(String(chunk))
        done()
      },
    })
    const requestLogged = new Promise<string>((resolve) => {
      logged = (line) => {
        if (JSON.parse(line).msg === 'request') resolve(line)
      }
    })
    const gateway = await startTestGateway({}, { logger: createLogger('info', sink) })
    try {
      const token = await gateway.token('alice')
      const stream = new RawSseStream(`${gateway.url}/v1/events?topics=&acc%65ss_t%6Fken=${token}`)
      await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 5000, 'herald.ready')
      stream.close()
      const line = JSON.parse(await withTimeout(requestLogged, 5000, () => lines.join('')))
      expect(line).toMatchObject({ status: 200, url: '/v1/events?topics=&acc%65ss_t%6Fken=[redacted]' })
      for (const part of token.split('.')) expect(lines.join('')).not.toContain(part)
    } finally {
      await gateway.close()
    }
  })
})

describe('the access log of an error answer', () => {
  it('names the HERALD_ERR_* code, on each way a request is served, and never a token in the path', async () => {
    const { lines, gateway } = await gatewayLoggingLines()
    try {
      const token = await gateway.token('alice')
      const expired = await gateway.token('alice', { expiresIn: -60 })
      await fetch(`${gateway.url}/v1/events`, { headers: { Authorization: `Bearer ${expired}` } })
      await fetch(`${gateway.url}/v1/publish`, { method: 'POST', body: '{}' })
      await fetch(`${gateway.url}/v1/events%3Faccess_token=${token}`)
      const requests = lines.filter((line) => line.msg === 'request')
      expect(requests.map((line) => [line.status, line.code])).toEqual([
        [401, 'HERALD_ERR_TOKEN_EXPIRED'],
        [401, 'HERALD_ERR_PUBLISH_KEY_MISSING'],
        [404, 'HERALD_ERR_NOT_FOUND'],
      ])
      expect(requests[2].url).toBe('/v1/[redacted]')
      for (const part of token.split('.')) expect(JSON.stringify(lines)).not.toContain(part)
    } finally {
      await gateway.close()
    }
  })
})

describe('the log of a shed stream', () => {
  it('is a warning, not an error, and a storm of them is rate-limited', async () => {
    const { lines, gateway } = await gatewayLoggingLines()
    try {
      // Draining sheds every stream; nginx asks for a 503 with X-Herald-Shed-Status, browsers get 200.
      gateway.services.lifecycle.draining = true
      const storm = 3 * SHED_LOG_BURST
      for (let i = 0; i < storm; i++) {
        const status = i % 2 === 0 ? 503 : 200
        const headers: Record<string, string> = status === 503 ? { 'X-Herald-Shed-Status': '503' } : {}
        const response = await fetch(gateway.eventsUrl(), { headers })
        expect(response.status).toBe(status)
        expect(response.headers.get('x-herald-unavailable')).toBe('draining')
        await response.text()
      }
      const sheds = lines.filter((line) => line.msg === 'request' && line.url.startsWith('/v1/events'))
      expect(lines.filter((line) => line.level >= 50)).toEqual([])
      expect(sheds.length).toBeGreaterThan(0)
      for (const line of sheds) expect(line).toMatchObject({ level: 40, status: expect.any(Number), shed: 'draining' })
      expect(new Set(sheds.map((line) => line.status))).toEqual(new Set([503, 200]))
      // A window's worth are logged; the storm ends well within two windows.
      expect(sheds.length).toBeLessThanOrEqual(2 * SHED_LOG_BURST)
      expect(sheds.length).toBeLessThan(storm)
    } finally {
      gateway.services.lifecycle.draining = false
      await gateway.close()
    }
    // A node that stops before the window ends still says how many it held back.
    const held = lines.filter((line) => line.msg === 'more streams were shed than logged')
    const logged = lines.filter((line) => line.msg === 'request' && line.url.startsWith('/v1/events')).length
    expect(held.reduce((sum, line) => sum + line.held, 0) + logged).toBe(3 * SHED_LOG_BURST)
  })
})

describe('the log of publishes the broker failed', () => {
  it('is rate-limited in an outage, and says how many lines it held back', async () => {
    const redis = await startRedis()
    const { lines, gateway } = await gatewayLoggingLines({ REDIS_URL: redis.url })
    try {
      // Stopped, not gone: the connection stays up and every publish waits out its deadline.
      process.kill(redis.pid!, 'SIGSTOP')
      const results = await Promise.all(
        Array.from({ length: 3 * SHED_LOG_BURST }, (_, i) => gateway.publish({ user: 'outage', data: i })),
      )
      expect(results.map((result) => result.status)).toEqual(results.map(() => 503))
    } finally {
      process.kill(redis.pid!, 'SIGCONT')
      await gateway.close()
      await redis.stop()
    }
    const logged = lines.filter((line) => line.msg === 'publish failed: the broker did not accept it').length
    const held = lines.filter((line) => line.msg === 'more broker failures than logged')
    // A window's worth are logged; the storm ends well within two windows.
    expect(logged).toBeGreaterThan(0)
    expect(logged).toBeLessThanOrEqual(2 * SHED_LOG_BURST)
    expect(held.reduce((sum, line) => sum + line.held, 0) + logged).toBe(3 * SHED_LOG_BURST)
  })
})

describe('LogBurstLimit', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lets a burst through per window and reports how many it held back when the window ends', () => {
    vi.useFakeTimers()
    const reported: number[] = []
    const limit = new LogBurstLimit(3, 10_000, (suppressed) => reported.push(suppressed))
    expect(Array.from({ length: 5 }, () => limit.take())).toEqual([true, true, true, false, false])
    expect(reported).toEqual([])
    vi.advanceTimersByTime(10_000)
    expect(reported).toEqual([2])
    expect(Array.from({ length: 4 }, () => limit.take())).toEqual([true, true, true, false])
    vi.advanceTimersByTime(10_000)
    expect(reported).toEqual([2, 1])
    // A quiet window reports nothing.
    expect(limit.take()).toBe(true)
    vi.advanceTimersByTime(60_000)
    expect(reported).toEqual([2, 1])
  })

  it('reports the count of a window before the first line of the next, though its timer runs late', () => {
    vi.useFakeTimers()
    const order: string[] = []
    let nowMs = 0
    const limit = new LogBurstLimit(
      1,
      10_000,
      (held) => order.push(`held ${held}`),
      () => nowMs,
    )
    for (let i = 0; i < 3; i++) if (limit.take()) order.push('line')
    // The window is over, but the timer that reports it has not run (the clock moved, no timers ran).
    nowMs += 10_000
    if (limit.take()) order.push('line')
    expect(order).toEqual(['line', 'held 2', 'line'])
    vi.runAllTimers()
    expect(order).toEqual(['line', 'held 2', 'line'])
  })

  it('keeps its windows through a step of the wall clock: a step back holds no line back for its length', () => {
    vi.useFakeTimers()
    const reported: number[] = []
    const limit = new LogBurstLimit(1, 10_000, (held) => reported.push(held))
    expect([limit.take(), limit.take()]).toEqual([true, false])
    // An NTP correction or a restored VM snapshot sets the wall clock an hour back.
    vi.setSystemTime(Date.now() - 3_600_000)
    vi.advanceTimersByTime(10_000)
    expect(reported).toEqual([1])
    expect([limit.take(), limit.take()]).toEqual([true, false])
  })
})
