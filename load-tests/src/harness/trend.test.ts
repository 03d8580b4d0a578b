import { describe, expect, it } from 'vitest'
import { fittedGrowth, lowerEnvelope, slope } from './trend.js'

describe('slope', () => {
  it('fits a line exactly and is 0 for a flat or single-point series', () => {
    expect(
      slope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
    ).toBeCloseTo(2)
    expect(
      slope([
        [0, 4],
        [5, 4],
        [9, 4],
      ]),
    ).toBe(0)
    expect(slope([[3, 9]])).toBe(0)
  })
})

describe('lowerEnvelope and fittedGrowth', () => {
  it('sees no growth in a flat sawtooth, and the growth of a rising one', () => {
    const saw = Array.from({ length: 40 }, (_, i) => 100 + (i % 4) * 10)
    const flat = lowerEnvelope(saw, 4).map((y, x) => [x, y] as const)
    expect(fittedGrowth(flat.slice(4), 20)).toBeCloseTo(0)
    const rising = lowerEnvelope(
      saw.map((y, x) => y + x),
      4,
    ).map((y, x) => [x, y] as const)
    // The staircase floor of x + sawtooth rises about 19 over x = 20..39.
    expect(fittedGrowth(rising, 20)).toBeGreaterThan(15)
    expect(fittedGrowth(rising, 20)).toBeLessThan(21)
  })
})
