import { describe, expect, it } from 'vitest'
import { BUCKET_COUNT, bucketHighest, bucketOf, Histogram } from './histogram.js'

describe('Histogram', () => {
  it('maps every value into a bucket whose bounds contain it, within 1.6%', () => {
    for (const value of [0, 1, 127, 128, 129, 255, 256, 1000, 65_535, 1_000_000, 2 ** 31 - 2]) {
      const bucket = bucketOf(value)
      expect(bucket).toBeLessThan(BUCKET_COUNT)
      expect(bucketHighest(bucket)).toBeGreaterThanOrEqual(value)
      expect(bucketHighest(bucket)).toBeLessThanOrEqual(value * 1.016 + 1)
      if (bucket > 0) expect(bucketHighest(bucket - 1)).toBeLessThan(value)
    }
  })

  it('gives percentiles within bucket precision of the exact ones', () => {
    const histogram = new Histogram()
    const values: number[] = []
    let seed = 7
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      const value = Math.floor((seed / 2 ** 31) ** 3 * 500_000)
      values.push(value)
      histogram.record(value)
    }
    values.sort((a, b) => a - b)
    for (const p of [50, 90, 99, 99.9]) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1]!
      expect(histogram.percentile(p)).toBeGreaterThanOrEqual(exact)
      expect(histogram.percentile(p)).toBeLessThanOrEqual(exact * 1.016 + 1)
    }
    expect(histogram.percentile(100)).toBe(values.at(-1))
  })

  it('merges sparse counts exactly', () => {
    const a = new Histogram()
    const b = new Histogram()
    for (let i = 0; i < 1000; i++) (i % 2 === 0 ? a : b).record(i * 37)
    const merged = Histogram.fromSparse(a.toSparse())
    merged.add(Histogram.fromSparse(b.toSparse()).counts)
    expect(merged.total).toBe(1000)
    expect(merged.percentile(50)).toBe(bucketHighest(bucketOf(499 * 37)))
  })
})
