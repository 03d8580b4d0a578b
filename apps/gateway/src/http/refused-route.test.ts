import { describe, expect, it } from 'vitest'
import { refusedRoute, requestLineOf } from './refused-route.js'

describe('refusedRoute', () => {
  it('names the route a request was meant for by its method and path as sent, the query aside', () => {
    expect(refusedRoute('POST', '/v1/publish')).toBe('publish')
    expect(refusedRoute('GET', '/v1/events?topics=a&access_token=x')).toBe('stream')
    expect(refusedRoute('GET', '/v1/publish')).toBeUndefined()
    expect(refusedRoute('POST', '/v1/publish/../v1/publish')).toBeUndefined()
    expect(refusedRoute('', '')).toBeUndefined()
  })
})

describe('requestLineOf', () => {
  it('reads the method and target of the request line a packet starts with, and nothing else', () => {
    const packet = (text: string) => Buffer.from(text, 'latin1')
    expect(requestLineOf(packet('POST /v1/publish HTTP/1.1\r\nHost: x\r\nX-Big: aaaa'))).toEqual({
      method: 'POST',
      url: '/v1/publish',
    })
    expect(requestLineOf(packet('GET /v1/events?access_token=t HTTP/1.0\n'))).toEqual({
      method: 'GET',
      url: '/v1/events?access_token=t',
    })
    expect(requestLineOf(packet('aaaaaaaaaaaa\r\nX-More: b'))).toEqual({ method: '', url: '' })
    expect(requestLineOf(undefined)).toEqual({ method: '', url: '' })
  })
})
