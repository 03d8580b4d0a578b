import { describe, expect, it } from 'vitest'
import { blankHeaderValues, CREDENTIAL_HEADERS, headerValue, headerValues } from './raw-headers.js'

describe('headerValue', () => {
  const raw = ['Host', 'gw', 'AUTHORIZATION', 'Bearer a', 'Cookie', 'x=1', 'authorization', 'Bearer b', 'cookie', 'y=2']

  it('matches names case-insensitively and keeps the first of a repeated header', () => {
    expect(headerValue(raw, 'host')).toBe('gw')
    expect(headerValue(raw, 'authorization')).toBe('Bearer a')
  })

  it('joins repeated Cookie headers with "; ", as Node does', () => {
    expect(headerValue(raw, 'cookie')).toBe('x=1; y=2')
  })

  it('is undefined for a header that is absent, and keeps an empty value', () => {
    expect(headerValue(raw, 'last-event-id')).toBeUndefined()
    expect(headerValue(['Last-Event-ID', ''], 'last-event-id')).toBe('')
    expect(headerValue([], 'host')).toBeUndefined()
  })
})

describe('headerValues', () => {
  it('lists every value of a header in order, whatever the case of its name', () => {
    expect(headerValues(['Host', 'a', 'Accept', '*/*', 'HOST', 'b'], 'host')).toEqual(['a', 'b'])
    expect(headerValues(['Accept', '*/*'], 'host')).toEqual([])
  })
})

describe('blankHeaderValues', () => {
  it('blanks every value of the named headers, whatever their case, and keeps the rest', () => {
    const raw = ['Host', 'gw', 'AUTHORIZATION', 'Bearer a', 'Cookie', 'herald_token=t', 'Accept', 'text/event-stream']
    blankHeaderValues(raw, CREDENTIAL_HEADERS)
    expect(raw).toEqual(['Host', 'gw', 'AUTHORIZATION', '', 'Cookie', '', 'Accept', 'text/event-stream'])
    expect(headerValue(raw, 'authorization')).toBe('')
  })
})
