import { describe, expect, it } from 'vitest'
import { histogramBetween, readHistogram, shareAbove } from './prometheus-text.js'

const before = `# HELP herald_delivery_latency_seconds x
herald_delivery_latency_seconds_bucket{le="0.005"} 90
herald_delivery_latency_seconds_bucket{le="0.01"} 95
herald_delivery_latency_seconds_bucket{le="+Inf"} 100
herald_delivery_latency_seconds_sum 0.4
herald_delivery_latency_seconds_count 100
nodejs_gc_duration_seconds_bucket{le="0.01",kind="minor"} 3
nodejs_gc_duration_seconds_bucket{le="+Inf",kind="minor"} 3
nodejs_gc_duration_seconds_count{kind="minor"} 3
nodejs_gc_duration_seconds_count{kind="major"} 1
`
const after = before
  .replace('{le="0.005"} 90', '{le="0.005"} 890')
  .replace('{le="0.01"} 95', '{le="0.01"} 985')
  .replace('{le="+Inf"} 100', '{le="+Inf"} 1100')
  .replace('seconds_count 100', 'seconds_count 1100')
  .replace('seconds_sum 0.4', 'seconds_sum 2.4')

describe('readHistogram', () => {
  it('reads the buckets, count and sum of the named histogram only', () => {
    const read = readHistogram(before, 'herald_delivery_latency_seconds')
    expect([...read.buckets]).toEqual([
      [0.005, 90],
      [0.01, 95],
      [Number.POSITIVE_INFINITY, 100],
    ])
    expect(read).toMatchObject({ count: 100, sum: 0.4 })
  })

  it('keeps to the series with the given labels', () => {
    expect(readHistogram(before, 'nodejs_gc_duration_seconds', { kind: 'minor' }).count).toBe(3)
    expect(readHistogram(before, 'nodejs_gc_duration_seconds', { kind: 'major' }).count).toBe(1)
    expect(readHistogram(before, 'nodejs_gc_duration_seconds').count).toBe(4)
  })

  it('gives what happened between two reads, and the share above a bound', () => {
    const step = histogramBetween(
      readHistogram(before, 'herald_delivery_latency_seconds'),
      readHistogram(after, 'herald_delivery_latency_seconds'),
    )
    expect(step.count).toBe(1000)
    expect(step.sum).toBeCloseTo(2)
    expect(shareAbove(step, 0.005)).toBeCloseTo(0.2)
    expect(shareAbove(step, 0.01)).toBeCloseTo(0.11)
    expect(() => shareAbove(step, 0.02)).toThrow('no bucket')
  })
})
