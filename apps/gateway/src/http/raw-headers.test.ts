import { describe, expect, it } from 'vitest'
import { headerValue } from './raw-headers.js'

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
