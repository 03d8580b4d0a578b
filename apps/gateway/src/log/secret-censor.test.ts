import { describe, expect, it } from 'vitest'
import { censorFields, secretCensor } from './secret-censor.js'

const KEY = 'publish-key-0123456789'
const JWT_SECRET = 'a-jwt-secret-of-at-least-32-bytes!!'

describe('secretCensor', () => {
  const censor = secretCensor([KEY, JWT_SECRET])!

  it('censors each secret wherever it appears, under any name or in a path', () => {
    expect(censor(`/v1/publish?k=${KEY}`)).toBe('/v1/publish?k=[redacted]')
    expect(censor(`/${KEY}`)).toBe('/[redacted]')
    expect(censor(`/v1/publish/${KEY}/${KEY}?s=${JWT_SECRET}`)).toBe('/v1/publish/[redacted]/[redacted]?s=[redacted]')
  })

  it('censors the whole text when only its decoded form holds a secret', () => {
    expect(censor(`/v1/events?x=Bearer+%70${KEY.slice(1)}`)).toBe('[redacted]')
    expect(censor(`/v1/events?x=${JWT_SECRET.replace('!', '%21')}`)).toBe('[redacted]')
    // Encoded twice, or beside a malformed escape.
    expect(censor(`/v1/events?x=%2570${KEY.slice(1)}`)).toBe('[redacted]')
    expect(censor(`/v1/events?x=%E0%A4%A&y=%70${KEY.slice(1)}`)).toBe('[redacted]')
  })

  it('keeps text without a secret as it is, encoded or malformed', () => {
    for (const text of [
      '/v1/events?topics=a%2Fb&lastEventId=u1:1-0',
      '/v1/publish',
      '/x?y=%E0%A4%A',
      KEY.slice(0, -1),
    ]) {
      expect(censor(text)).toBe(text)
    }
  })

  it('is not made when there is no secret to censor', () => {
    expect(secretCensor([])).toBeUndefined()
    expect(secretCensor([''])).toBeUndefined()
  })
})

describe('censorFields', () => {
  const censor = secretCensor([KEY])!

  it('censors the string fields of a line, and returns the line itself when none held a secret', () => {
    const clean = { method: 'GET', url: '/v1/events', status: 200 }
    expect(censorFields(clean, censor)).toBe(clean)
    const leaking = { method: 'POST', url: `/v1/publish?k=${KEY}`, status: 401 }
    expect(censorFields(leaking, censor)).toEqual({ method: 'POST', url: '/v1/publish?k=[redacted]', status: 401 })
    expect(leaking.url).toBe(`/v1/publish?k=${KEY}`)
  })
})
