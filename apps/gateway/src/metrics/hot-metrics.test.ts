import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { HotCounter, HotHistogram } from './hot-metrics.js'

const BOUNDS = [0.001, 0.005, 0.01, 0.1, 1]
/** Below, on and above bounds, and past the last one. */
const OBSERVATIONS = [0, 0.0005, 0.001, 0.0011, 0.005, 0.05, 0.1, 0.5, 1, 2.5, 30]

describe('HotHistogram and HotCounter', () => {
  it('expose exactly the text prom-client’s own Histogram and Counter would for the same updates', async () => {
    const reference = new Registry()
    const referenceHistogram = new Histogram({
      name: 'h_seconds',
      help: 'a histogram',
      buckets: BOUNDS,
      registers: [reference],
    })
    const referenceCounter = new Counter({ name: 'c_total', help: 'a counter', registers: [reference] })
    const hot = new Registry()
    const hotHistogram = new HotHistogram('h_seconds', 'a histogram', BOUNDS, hot)
    const hotCounter = new HotCounter('c_total', 'a counter', hot)

    for (const value of OBSERVATIONS) {
      referenceHistogram.observe(value)
      hotHistogram.observe(value)
      referenceCounter.inc(3)
      hotCounter.inc(3)
    }

    expect(await hot.metrics()).toBe(await reference.metrics())
    expect(await hot.metrics()).toContain('h_seconds_bucket{le="0.005"} 5\n')
    expect(await hot.metrics()).toContain('c_total 33\n')
  })

  it('drops a value that is not a finite number, keeping the sum and count as they were', async () => {
    const registry = new Registry()
    const histogram = new HotHistogram('h', 'h', BOUNDS, registry)
    histogram.observe(0.002)
    histogram.observe(Number.NaN)
    histogram.observe(Number.POSITIVE_INFINITY)
    const text = await registry.metrics()
    expect(text).toContain('h_sum 0.002\n')
    expect(text).toContain('h_count 1\n')
  })

  it('sorts the bounds it is given', async () => {
    const registry = new Registry()
    const histogram = new HotHistogram('h', 'h', [1, 0.1], registry)
    histogram.observe(0.5)
    const text = await registry.metrics()
    expect(text).toContain('h_bucket{le="0.1"} 0\nh_bucket{le="1"} 1\n')
  })

  it('start again from zero on the registry’s reset, and refuse a second metric of the same name', async () => {
    const registry = new Registry()
    const histogram = new HotHistogram('h', 'h', BOUNDS, registry)
    const counter = new HotCounter('c', 'c', registry)
    histogram.observe(0.002)
    counter.inc(7)
    registry.resetMetrics()
    const text = await registry.metrics()
    expect(text).toContain('h_count 0\n')
    expect(text).toContain('h_sum 0\n')
    expect(text).toContain('c 0\n')
    expect(() => new HotCounter('c', 'again', registry)).toThrow(/already been registered/)
  })
})
