import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.js'

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
