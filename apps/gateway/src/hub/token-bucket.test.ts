import { describe, expect, it } from 'vitest'
import { TokenBucket } from './token-bucket.js'

describe('TokenBucket', () => {
  it('allows a burst, then the refill rate', () => {
    const bucket = new TokenBucket(10, 3, 0)
    expect([1, 2, 3, 4].map(() => bucket.tryTake(0))).toEqual([true, true, true, false])
    expect(bucket.tryTake(99)).toBe(false)
    expect(bucket.tryTake(100)).toBe(true)
    expect(bucket.tryTake(100)).toBe(false)
  })

  it('never holds more than the burst, and ignores a clock that goes back', () => {
    const bucket = new TokenBucket(1000, 2, 0)
    expect([1, 2, 3].map(() => bucket.tryTake(60_000))).toEqual([true, true, false])
    expect(bucket.tryTake(59_000)).toBe(false)
  })
})
