import { describe, expect, it } from 'vitest'
import { askedDelayMs, backoffDelay } from './backoff.js'

describe('backoffDelay', () => {
  const policy = { baseMs: 1000, maxMs: 30_000 }

  it('doubles each attempt, between half and all of the step', () => {
    expect(backoffDelay(policy, 0, () => 0)).toBe(500)
    expect(backoffDelay(policy, 0, () => 1)).toBe(1000)
    expect(backoffDelay(policy, 3, () => 0)).toBe(4000)
    expect(backoffDelay(policy, 3, () => 1)).toBe(8000)
  })

  it('never exceeds the cap, even after many attempts', () => {
    expect(backoffDelay(policy, 10, () => 1)).toBe(30_000)
    expect(backoffDelay(policy, 10_000, () => 1)).toBe(30_000)
    expect(backoffDelay(policy, 10_000, () => 0)).toBe(15_000)
  })

  it('spreads clients over the window', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 2)))
    expect(delays.size).toBeGreaterThan(10)
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(2000)
  })
})

describe('askedDelayMs', () => {
  it('waits what a server asked, from 100 ms to 10 minutes, and ignores what is not a finite number', () => {
    expect([0, -5, 99, 100, 3000, 600_000, 1e10].map(askedDelayMs)).toEqual([
      100, 100, 100, 100, 3000, 600_000, 600_000,
    ])
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, '3000', null, undefined]) {
      expect(askedDelayMs(value)).toBeUndefined()
    }
  })
})
