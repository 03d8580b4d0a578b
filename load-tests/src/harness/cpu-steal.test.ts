import { describe, expect, it } from 'vitest'
import { parseCpuTimes, stealPercent } from './cpu-steal.js'

describe('parseCpuTimes', () => {
  it('sums the eight time fields of the aggregate line, leaving out guest time', () => {
    const stat = 'cpu  100 5 50 800 10 0 5 30 7 0\ncpu0 50 2 25 400 5 0 2 15 0 0\nintr 1 2 3\n'
    expect(parseCpuTimes(stat)).toEqual({ total: 1000, steal: 30 })
  })

  it('is undefined for text that has no aggregate cpu line, or a short one', () => {
    expect(parseCpuTimes('cpu0 1 2 3 4 5 6 7 8\n')).toBeUndefined()
    expect(parseCpuTimes('cpu  1 2 3\n')).toBeUndefined()
  })
})

describe('stealPercent', () => {
  it('is the steal between two readings over all time between them', () => {
    expect(stealPercent({ total: 1000, steal: 30 }, { total: 3000, steal: 280 })).toBe(12.5)
    expect(stealPercent({ total: 1000, steal: 30 }, { total: 1000, steal: 30 })).toBe(0)
  })
})
