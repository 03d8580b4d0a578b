import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { RawSseStream, startTestGateway, withTimeout } from '../../test/harness.js'
import { createLogger, redactUrl } from './logger.js'

describe('redactUrl', () => {
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
