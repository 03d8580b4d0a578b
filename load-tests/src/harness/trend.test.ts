import { describe, expect, it } from 'vitest'
import { slope } from './trend.js'

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
