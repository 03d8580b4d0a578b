import { describe, expect, it } from 'vitest'
import { findToken } from './token-source.js'

const none = { authorization: undefined, cookie: undefined, query: [] }

describe('findToken', () => {
  it('prefers the Authorization header, then the cookie, then the query', () => {
    const all = { authorization: 'Bearer h', cookie: 'a=1; herald_token=c', query: ['q'] }
    expect(findToken(all)).toBe('h')
    expect(findToken({ ...all, authorization: undefined })).toBe('c')
    expect(findToken({ ...all, authorization: undefined, cookie: 'other=1' })).toBe('q')
  })

  it('accepts any case of the Bearer scheme and ignores other schemes', () => {
    expect(findToken({ ...none, authorization: 'bearer t' })).toBe('t')
    expect(findToken({ ...none, authorization: 'Basic dXNlcjpwdw==', query: ['q'] })).toBe('q')
  })

  it('takes the first non-empty herald_token cookie, so an emptied duplicate does not hide a live one', () => {
    expect(findToken({ ...none, cookie: 'herald_token=; herald_token=c' })).toBe('c')
    expect(findToken({ ...none, cookie: 'herald_token=c1; a=1; herald_token=c2' })).toBe('c1')
    expect(findToken({ ...none, cookie: 'herald_token= ; other=x; herald_token=c', query: ['q'] })).toBe('c')
    expect(findToken({ ...none, cookie: 'herald_token=; herald_token=', query: ['q'] })).toBe('q')
  })

  it('finds nothing when no carrier holds a token', () => {
    expect(findToken(none)).toBeUndefined()
    expect(findToken({ authorization: 'Bearer', cookie: 'herald_token=', query: [''] })).toBeUndefined()
  })

  it('takes a cookie value in double quotes without them, as RFC 6265 allows it to be sent', () => {
    expect(findToken({ ...none, cookie: 'herald_token="c"' })).toBe('c')
    expect(findToken({ ...none, cookie: 'herald_token=""; herald_token=c' })).toBe('c')
  })

  it('takes the first non-empty access_token, as for the cookie', () => {
    expect(findToken({ ...none, query: ['', 'q2', 'q3'] })).toBe('q2')
  })
})
