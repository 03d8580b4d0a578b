import { describe, expect, it } from 'vitest'
import { closeTimeForExpiry, type Expiring, ExpiryWheel } from './expiry-wheel.js'

const item = (name: string) => ({ name, expirySecond: 0 })
const names = (items: Array<Expiring & { name: string }>) => items.map((i) => i.name).sort()

describe('ExpiryWheel', () => {
  it('returns items once the second of their deadline has begun, never later, each once', () => {
    const wheel = new ExpiryWheel<ReturnType<typeof item>>()
    const [a, b, c, d] = [item('a'), item('b'), item('c'), item('d')]
    wheel.add(a, 1_500)
    wheel.add(b, 1_999)
    wheel.add(c, 2_000)
    wheel.add(d, 9_000)
    expect(wheel.takeDue(999)).toEqual([])
    expect(names(wheel.takeDue(1_000))).toEqual(['a', 'b'])
    expect(names(wheel.takeDue(2_000))).toEqual(['c'])
    expect(wheel.takeDue(2_000)).toEqual([])
    expect(wheel.size).toBe(1)
    expect([a.expirySecond, c.expirySecond, d.expirySecond]).toEqual([0, 0, 9])
  })

  it('forgets removed items and moves re-added ones', () => {
    const wheel = new ExpiryWheel<ReturnType<typeof item>>()
    const [a, b] = [item('a'), item('b')]
    wheel.add(a, 1_000)
    wheel.remove(a)
    wheel.remove(a)
    wheel.add(b, 1_000)
    wheel.add(b, 5_000)
    expect(wheel.size).toBe(1)
    expect(wheel.takeDue(4_999)).toEqual([])
    expect(names(wheel.takeDue(5_000))).toEqual(['b'])
    expect(wheel.size).toBe(0)
  })

  it('holds an item whose deadline is at or before the epoch, and hands it out at once', () => {
    const wheel = new ExpiryWheel<ReturnType<typeof item>>()
    const early = item('early')
    wheel.add(early, 0)
    expect(wheel.size).toBe(1)
    expect(names(wheel.takeDue(1_000))).toEqual(['early'])
  })
})

describe('closeTimeForExpiry', () => {
  it('closes at or before expiry, within the jitter window', () => {
    expect(closeTimeForExpiry(100_000, 0, 30_000, () => 0)).toBe(100_000)
    expect(closeTimeForExpiry(100_000, 0, 30_000, () => 1)).toBe(90_000)
    expect(closeTimeForExpiry(1_000_000, 0, 30_000, () => 1)).toBe(970_000)
  })

  it('spreads closes across the window', () => {
    const times = new Set(
      Array.from({ length: 50 }, () => Math.round(closeTimeForExpiry(1e6, 0, 30_000, Math.random) / 1000)),
    )
    expect(times.size).toBeGreaterThan(10)
  })
})
