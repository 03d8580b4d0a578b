import { describe, expect, it } from 'vitest'
import { HeraldError } from '../errors/herald-error.js'
import { findToken } from './token-source.js'

const none = { authorization: [], cookie: undefined, query: [] }

describe('findToken', () => {
  it('prefers the Authorization header, then the cookie, then the query', () => {
    const all = { authorization: ['Bearer h'], cookie: 'a=1; herald_token=c', query: ['q'] }
    expect(findToken(all)).toBe('h')
    expect(findToken({ ...all, authorization: [] })).toBe('c')
    expect(findToken({ ...all, authorization: [], cookie: 'other=1' })).toBe('q')
  })

  it('accepts any case of the Bearer scheme and ignores other schemes', () => {
    expect(findToken({ ...none, authorization: ['bearer t'] })).toBe('t')
    expect(findToken({ ...none, authorization: ['Basic dXNlcjpwdw=='], query: ['q'] })).toBe('q')
  })

  it('takes the first non-empty herald_token cookie, so an emptied duplicate does not hide a live one', () => {
    expect(findToken({ ...none, cookie: 'herald_token=; herald_token=c' })).toBe('c')
    expect(findToken({ ...none, cookie: 'herald_token=c1; a=1; herald_token=c2' })).toBe('c1')
    expect(findToken({ ...none, cookie: 'herald_token= ; other=x; herald_token=c', query: ['q'] })).toBe('c')
    expect(findToken({ ...none, cookie: 'herald_token=; herald_token=', query: ['q'] })).toBe('q')
  })

  it('finds nothing when no carrier holds a token', () => {
    expect(findToken(none)).toBeUndefined()
    expect(findToken({ authorization: ['Bearer'], cookie: 'herald_token=', query: [''] })).toBeUndefined()
  })

  it('refuses an Authorization that could be read more than one way as malformed, whatever else carries a token', () => {
    const malformed = expect.objectContaining({ code: 'HERALD_ERR_TOKEN_MALFORMED' })
    const carriers = { cookie: 'herald_token=c', query: ['q'] }
    for (const authorization of [
      ['Bearer a', 'Bearer b'],
      ['Bearer a', 'Basic dXNlcjpwdw=='],
      ['Basic dXNlcjpwdw==', 'Bearer b'],
      ['Bearer a extra'],
      ['Bearer a, Bearer b'],
      ['bearer\ta\tb'],
    ]) {
      let thrown: unknown
      try {
        findToken({ ...carriers, authorization })
      } catch (error) {
        thrown = error
      }
      expect(thrown, JSON.stringify(authorization)).toBeInstanceOf(HeraldError)
      expect(thrown, JSON.stringify(authorization)).toEqual(malformed)
    }
    // A bare scheme holds no token; the next carrier may.
    expect(findToken({ ...carriers, authorization: ['Bearer \t'] })).toBe('c')
    expect(findToken({ ...carriers, authorization: ['Bearer a \t'] })).toBe('a')
  })

  it('takes a cookie value in double quotes without them, as RFC 6265 allows it to be sent', () => {
    expect(findToken({ ...none, cookie: 'herald_token="c"' })).toBe('c')
    expect(findToken({ ...none, cookie: 'herald_token=""; herald_token=c' })).toBe('c')
  })

  it('takes the first non-empty access_token, as for the cookie', () => {
    expect(findToken({ ...none, query: ['', 'q2', 'q3'] })).toBe('q2')
  })
})
