import { describe, expect, it } from 'vitest'
import { drainSchedule, jitteredRetryMs } from './drain.js'

describe('drainSchedule', () => {
  it('spreads closes over the whole window, one slot each', () => {
    const steps = drainSchedule(10, 10_000, 1000, () => 0.5)
    expect(steps.map((s) => s.atMs)).toEqual([500, 1500, 2500, 3500, 4500, 5500, 6500, 7500, 8500, 9500])
    for (const step of steps) expect(step.retryMs).toBe(1500)
  })

  it('stays inside the window and jitters the retry hints', () => {
    const steps = drainSchedule(1000, 5000, 1000, Math.random)
    expect(Math.max(...steps.map((s) => s.atMs))).toBeLessThanOrEqual(5000)
    expect(Math.min(...steps.map((s) => s.retryMs))).toBeGreaterThanOrEqual(1000)
    expect(new Set(steps.map((s) => s.retryMs)).size).toBeGreaterThan(100)
  })

  it('draws retry hints from [base, 2 × base), the top draw included', () => {
    expect(jitteredRetryMs(500, () => 0)).toBe(500)
    expect(jitteredRetryMs(500, () => 0.9999999)).toBe(999)
  })

  it('has nothing to do for no streams', () => {
    expect(drainSchedule(0, 5000, 1000, Math.random)).toEqual([])
  })
})
