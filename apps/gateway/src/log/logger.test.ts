import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, redactUrl } from './logger.js'

describe('redactUrl', () => {
  it('censors credential-bearing query parameters and keeps the rest', () => {
    expect(redactUrl('/v1/events?topics=a,b&access_token=eyJ.secret.sig&lastEventId=x')).toBe(
      '/v1/events?topics=a,b&access_token=[redacted]&lastEventId=x',
    )
    expect(redactUrl('/v1/events')).toBe('/v1/events')
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
