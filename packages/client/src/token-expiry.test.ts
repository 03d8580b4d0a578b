import { describe, expect, it } from 'vitest'
import { fakeJwt as jwt } from './test/fake-jwt.js'
import { readTokenClaims, refreshAt } from './token-expiry.js'

describe('readTokenClaims', () => {
  it('reads sub and exp (as milliseconds), including non-ASCII subjects', () => {
    expect(readTokenClaims(jwt({ sub: 'zoë', exp: 1_800_000_000 }))).toEqual({
      sub: 'zoë',
      expiresAtMs: 1_800_000_000_000,
    })
  })

  it('gives empty claims for anything that is not a readable JWT', () => {
    expect(readTokenClaims('opaque')).toEqual({})
    expect(readTokenClaims('a.!!!.c')).toEqual({})
    expect(readTokenClaims(jwt({ sub: 42, exp: 'soon' }))).toEqual({})
  })
})

describe('refreshAt', () => {
  it('refreshes a fifth of the lifetime early for short tokens', () => {
    expect(refreshAt(10_000, 0)).toBe(8000)
  })

  it('refreshes at most a minute early for long tokens, ahead of the gateway closing the stream', () => {
    expect(refreshAt(3_600_000, 0)).toBe(3_540_000)
  })

  it('gives no refresh time for a token that looks expired, or all but, when it arrives', () => {
    // Expired by the client's clock (ahead of the server's, or a stale token): refreshing would only fetch another.
    expect(refreshAt(1000, 5000)).toBeUndefined()
    expect(refreshAt(5000, 5000)).toBeUndefined()
    // Due within a second of arriving: untimeable too, or the client would refresh many times a second.
    expect(refreshAt(6000, 5000)).toBeUndefined()
    expect(refreshAt(6249, 5000)).toBeUndefined()
    expect(refreshAt(6250, 5000)).toBe(6000)
  })
})
