import { describe, expect, it } from 'vitest'
import { closeTimeForExpiry, ExpiryWheel } from './expiry-wheel.js'

const item = (name: string) => ({ name, expiryMs: 0 })
type Item = ReturnType<typeof item>

/** What one sweep hands over, as `name@deadline`, sorted. */
function due(wheel: ExpiryWheel<Item>, untilMs: number): string[] {
  const taken: string[] = []
  wheel.takeDue(untilMs, (i, deadlineMs) => taken.push(`${i.name}@${deadlineMs}`))
  return taken.sort()
}

describe('ExpiryWheel', () => {
  it('hands items over with their exact deadlines once the second of the deadline has begun, each once', () => {
    const wheel = new ExpiryWheel<Item>()
    const [a, b, c, d] = [item('a'), item('b'), item('c'), item('d')]
    wheel.add(a, 1_500)
    wheel.add(b, 1_999)
    wheel.add(c, 2_000)
    wheel.add(d, 9_000)
    expect(due(wheel, 999)).toEqual([])
    expect(due(wheel, 1_000)).toEqual(['a@1500', 'b@1999'])
    expect(due(wheel, 2_000)).toEqual(['c@2000'])
    expect(due(wheel, 2_000)).toEqual([])
    expect(wheel.size).toBe(1)
    expect([a.expiryMs, c.expiryMs, d.expiryMs]).toEqual([0, 0, 9_000])
  })

  it('forgets removed items and moves re-added ones', () => {
    const wheel = new ExpiryWheel<Item>()
    const [a, b] = [item('a'), item('b')]
    wheel.add(a, 1_000)
    wheel.remove(a)
    wheel.remove(a)
    wheel.add(b, 1_000)
    wheel.add(b, 5_000)
    expect(wheel.size).toBe(1)
    expect(due(wheel, 4_999)).toEqual([])
    expect(due(wheel, 5_000)).toEqual(['b@5000'])
    expect(wheel.size).toBe(0)
  })

  it('holds an item whose deadline is at or before the epoch, and hands it out at once', () => {
    const wheel = new ExpiryWheel<Item>()
    wheel.add(item('early'), 0)
    expect(wheel.size).toBe(1)
    expect(due(wheel, 1_000)).toEqual(['early@1'])
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
