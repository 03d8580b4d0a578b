/**
 * Node's event-loop delay metrics (`nodejs_eventloop_lag_*`) over windows of at least
 * {@link EVENT_LOOP_WINDOW_MS}, not since the last scrape. prom-client computes them from a
 * histogram it resets at every collect, so each scrape read only the samples since the one
 * before: with two scrapers (a Prometheus HA pair) up to a third of the reads covered a few
 * hundred milliseconds or none at all, and gave a p99 of 5e-7 s and int64-max nanoseconds as the
 * minimum. One such sample from the other scraper restarted HeraldEventLoopLag's 5 minutes.
 */

import type { Gauge, Registry } from 'prom-client'

/** Shorter than any usual scrape interval (15–60 s), so a lone scraper still sees every window. */
export const EVENT_LOOP_WINDOW_MS = 10_000

/**
 * How often the event loop's delay is sampled. prom-client's 10 ms made the monitor half of an
 * idle gateway's CPU (13 against 6-8 ms/s, memory broker, no streams); a stall long enough to
 * matter still shows at 100 ms.
 */
export const EVENT_LOOP_SAMPLE_MS = 100

/** The gauge whose collect sets every `nodejs_eventloop_lag_*` value, and resets the histogram. */
const COLLECTING_GAUGE = 'nodejs_eventloop_lag_seconds'
/** The longest wait, which a gap of our own sampler's also sets (below). */
const MAX_GAUGE = 'nodejs_eventloop_lag_max_seconds'

/**
 * Makes the default metrics' event-loop collect run at most once per window: a scrape within it
 * reads the values the last one computed. Throws if prom-client no longer collects that way, so
 * an upgrade that changes it fails the tests instead of quietly bringing the resets back.
 */
export function collectEventLoopLagInWindows(
  registry: Registry,
  windowMs = EVENT_LOOP_WINDOW_MS,
  now: () => number = performance.now.bind(performance),
  sampleMs = EVENT_LOOP_SAMPLE_MS,
): void {
  const gauge = registry.getSingleMetric(COLLECTING_GAUGE) as { collect?: () => unknown } | undefined
  const collect = gauge?.collect
  if (gauge === undefined || typeof collect !== 'function')
    throw new Error(`prom-client's ${COLLECTING_GAUGE} has no collect of its own any more`)
  takeLongerGapsIntoMax(registry, sampleMs)
  let collectedAt = Number.NEGATIVE_INFINITY
  gauge.collect = function collectOncePerWindow(this: unknown) {
    const at = now()
    if (at - collectedAt < windowMs) return undefined
    collectedAt = at
    return collect.call(this)
  }
}

/**
 * Node's delay histogram forgets when it last sampled as it is reset, so the first interval after
 * each collect records nothing: a stall that began there (a scrape, then SIGSTOP at once, in a
 * probe: 7 s stopped, and the window read 0.10 s) never showed, and HeraldEventLoopStalled could
 * not fire. A timer of our own, never reset, measures its gaps as the histogram does (the period
 * included), and the max gauge takes the longest since the last collect, the gap under way too.
 */
function takeLongerGapsIntoMax(registry: Registry, sampleMs: number): void {
  const max = registry.getSingleMetric(MAX_GAUGE) as Gauge | undefined
  if (max === undefined) throw new Error(`prom-client has no ${MAX_GAUGE} any more`)
  let lastTickAt = performance.now()
  let longestGapMs = 0
  setInterval(() => {
    const at = performance.now()
    longestGapMs = Math.max(longestGapMs, at - lastTickAt)
    lastTickAt = at
  }, sampleMs).unref()
  const takeLongestGapSeconds = () => {
    // The gap under way is split here: what came before belongs to this window, not the next.
    const at = performance.now()
    const longest = Math.max(longestGapMs, at - lastTickAt)
    longestGapMs = 0
    lastTickAt = at
    return longest / 1000
  }
  const set = max.set.bind(max) as (...args: unknown[]) => void
  // prom-client's collect sets it as set(labels, value); set(value) is the other form.
  max.set = ((...args: unknown[]) => {
    const last = args.length - 1
    if (typeof args[last] === 'number') args[last] = Math.max(args[last], takeLongestGapSeconds())
    set(...args)
  }) as Gauge['set']
}
