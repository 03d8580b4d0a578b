import { describe, expect, it } from 'vitest'
import { requestTarget } from './request-target.js'

describe('requestTarget', () => {
  it('splits the path from the query, and keeps both as sent', () => {
    expect(requestTarget('/v1/events?topics=a,b&lastEventId=')).toEqual({
      path: '/v1/events',
      search: '?topics=a,b&lastEventId=',
      absolute: false,
    })
    expect(requestTarget('/v1/%65vents')).toEqual({ path: '/v1/%65vents', search: '', absolute: false })
    expect(requestTarget('/assets/herald-bell.js')?.path).toBe('/assets/herald-bell.js')
  })

  it('serves the absolute form by its path', () => {
    expect(requestTarget('http://evil.example/v1/events?x=1')).toEqual({
      path: '/v1/events',
      search: '?x=1',
      absolute: true,
    })
    expect(requestTarget('HTTPS://user@host:8080')).toEqual({ path: '/', search: '', absolute: true })
    expect(requestTarget('http://host?x')).toEqual({ path: '/', search: '?x', absolute: true })
  })

  it('refuses a target that a URL parser would read as another path, or that is no path', () => {
    for (const target of [
      '/v1/x/../events',
      '/./healthz',
      '/v1/events/.',
      '/v1/%2e%2E/events',
      '/v1/.%2e/events',
      '/v1\\events',
      '/healthz#x',
      '/v1/{x}',
      '/\u00e9',
      '*',
      '',
      'v1/events',
      'ftp://host/v1/events',
      'http://[::1/v1/events',
      'http://evil.example/a/../v1/events',
    ]) {
      expect(requestTarget(target), target).toBeUndefined()
    }
  })
})
