import { collectDefaultMetrics, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { collectEventLoopLagInWindows, EVENT_LOOP_WINDOW_MS } from './event-loop-windows.js'

/** The `nodejs_eventloop_lag_<stat>_seconds` lines of one scrape: what the histogram gave. */
const histogramLines = (text: string) =>
  text.split('\n').filter((line) => /^nodejs_eventloop_lag_[a-z0-9]+_seconds /.test(line))
const value = (lines: string[], stat: string) =>
  Number(lines.find((line) => line.startsWith(`nodejs_eventloop_lag_${stat}_seconds `))!.split(' ')[1])

/** A registry with Node's default metrics sampling every 10 ms, and a clock the test moves. */
async function sampledRegistry() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
  let nowMs = 0
  collectEventLoopLagInWindows(registry, EVENT_LOOP_WINDOW_MS, () => nowMs, 10)
  // The delay histogram needs samples, and they come with turns of the event loop: its timer
  // records one per firing after its first, and fires at most once per turn. One 100 ms timeout
  // was one turn for a process that did not run meanwhile (a loaded machine): no sample at all.
  for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setTimeout(resolve, 10))
  return { registry, at: (ms: number) => (nowMs = ms) }
}

describe('event-loop delay metrics in windows', () => {
  it('reads the same figures at a second scrape within the window, not an emptied histogram', async () => {
    const { registry, at } = await sampledRegistry()
    const first = histogramLines(await registry.metrics())
    at(EVENT_LOOP_WINDOW_MS / 2)
    const second = histogramLines(await registry.metrics())
    expect(first).toHaveLength(7)
    expect(value(first, 'p99')).toBeGreaterThan(0.005)
    // An emptied histogram's minimum is int64-max nanoseconds.
    expect(value(second, 'min')).toBeLessThan(1)
    expect(second).toEqual(first)
  })

  it('reads the histogram again, and restarts it, once the window has passed', async () => {
    const { registry, at } = await sampledRegistry()
    const first = histogramLines(await registry.metrics())
    at(EVENT_LOOP_WINDOW_MS)
    const next = histogramLines(await registry.metrics())
    expect(value(first, 'min')).toBeLessThan(1)
    // Read again at once: no sample since the first read's reset.
    expect(value(next, 'min')).toBeGreaterThan(1e9)
  })

  it('shows a stall that begins just after a collect, which the reset histogram does not record', async () => {
    const { registry, at } = await sampledRegistry()
    await registry.metrics()
    // Held at once, before the histogram's timer fires again: Node's histogram, reset by that
    // collect, has forgotten its last sample and records nothing for this gap.
    const stalledFrom = performance.now()
    while (performance.now() - stalledFrom < 300) {}
    at(EVENT_LOOP_WINDOW_MS)
    const next = histogramLines(await registry.metrics())
    expect(value(next, 'max')).toBeGreaterThanOrEqual(0.3)
    // Taken into that window only: the next one starts afresh.
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setTimeout(resolve, 10))
    at(2 * EVENT_LOOP_WINDOW_MS)
    expect(value(histogramLines(await registry.metrics()), 'max')).toBeLessThan(0.3)
  })

  it("refuses a registry whose event-loop gauge collects nothing, rather than leave prom-client's resets in place", () => {
    expect(() => collectEventLoopLagInWindows(new Registry())).toThrow('has no collect of its own')
  })
})
