import { describe, expect, it } from 'vitest'
import type { Principal } from './token-verifier.js'
import { VerifiedTokenCache } from './verified-token-cache.js'

const principal = (userId: string, expiresAtMs: number): Principal => ({ userId, topicGrants: [], expiresAtMs })

describe('VerifiedTokenCache', () => {
  it('returns a verified principal until the token expires', () => {
    const cache = new VerifiedTokenCache(10, 60_000)
    cache.set('t1', principal('ann', 5_000), 1_000, 1_000)
    expect(cache.get('t1', 4_999, 4_999)?.userId).toBe('ann')
    expect(cache.get('t1', 5_000, 5_000)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('keeps an entry no longer than the age cap, even for a long-lived token', () => {
    const cache = new VerifiedTokenCache(10, 60_000)
    cache.set('t1', principal('ann', 10 * 3_600_000), 0, 0)
    expect(cache.get('t1', 59_999, 59_999)?.userId).toBe('ann')
    expect(cache.get('t1', 60_000, 60_000)).toBeUndefined()
  })

  it('ages an entry on the monotonic clock: a wall clock stepped back an hour keeps it no longer than the cap', () => {
    const cache = new VerifiedTokenCache(10, 60_000)
    cache.set('t1', principal('ann', 10 * 3_600_000), 0, 0)
    expect(cache.get('t1', 59_999 - 3_600_000, 59_999)?.userId).toBe('ann')
    expect(cache.get('t1', 60_000 - 3_600_000, 60_000)).toBeUndefined()
  })

  it("expires an entry on the wall clock, the issuer's: past its exp there, whatever the monotonic clock reads", () => {
    const cache = new VerifiedTokenCache(10, 60_000)
    cache.set('t1', principal('ann', 5_000), 1_000, 1_000)
    expect(cache.get('t1', 5_000, 1_001)).toBeUndefined()
  })

  it('never keeps a token that is already past its expiry', () => {
    const cache = new VerifiedTokenCache(10, 60_000)
    cache.set('t1', principal('ann', 1_000), 1_000, 1_000)
    expect(cache.size).toBe(0)
  })

  it('drops the oldest entry when full', () => {
    const cache = new VerifiedTokenCache(2, 60_000)
    cache.set('a', principal('a', 50_000), 0, 0)
    cache.set('b', principal('b', 50_000), 0, 0)
    cache.set('c', principal('c', 50_000), 0, 0)
    expect([cache.get('a', 1, 1), cache.get('b', 1, 1)?.userId, cache.get('c', 1, 1)?.userId]).toEqual([
      undefined,
      'b',
      'c',
    ])
  })

  it('drops entries past their deadline as new ones come, though they are never looked up again', () => {
    const cache = new VerifiedTokenCache(1000, 60_000)
    for (let n = 0; n < 10; n++) cache.set(`old${n}`, principal('ann', 30_000), 0, 0)
    for (let n = 0; n < 5; n++) cache.set(`new${n}`, principal('bob', 90_000), 30_000, 30_000)
    expect(cache.size).toBe(5)
    expect(cache.get('new0', 30_000, 30_000)?.userId).toBe('bob')
  })

  it('holds nothing when sized zero', () => {
    const cache = new VerifiedTokenCache(0, 60_000)
    cache.set('a', principal('a', 50_000), 0, 0)
    expect(cache.get('a', 1, 1)).toBeUndefined()
  })
})
