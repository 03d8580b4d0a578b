/**
 * Node's event-loop delay metrics (`nodejs_eventloop_lag_*`) over windows of at least
 * {@link EVENT_LOOP_WINDOW_MS}, not since the last scrape. prom-client computes them from a
 * histogram it resets at every collect, so each scrape read only the samples since the one
 * before: with two scrapers (a Prometheus HA pair) up to a third of the reads covered a few
 * hundred milliseconds or none at all, and gave a p99 of 5e-7 s and int64-max nanoseconds as the
 * minimum. One such sample from the other scraper restarted HeraldEventLoopLag's 5 minutes.
 */

import type { Registry } from 'prom-client'

/** Shorter than any usual scrape interval (15–60 s), so a lone scraper still sees every window. */
export const EVENT_LOOP_WINDOW_MS = 10_000

/** The gauge whose collect sets every `nodejs_eventloop_lag_*` value, and resets the histogram. */
const COLLECTING_GAUGE = 'nodejs_eventloop_lag_seconds'

/**
 * Makes the default metrics' event-loop collect run at most once per window: a scrape within it
 * reads the values the last one computed. Throws if prom-client no longer collects that way, so
 * an upgrade that changes it fails the tests instead of quietly bringing the resets back.
 */
export function collectEventLoopLagInWindows(
  registry: Registry,
  windowMs = EVENT_LOOP_WINDOW_MS,
  now: () => number = performance.now.bind(performance),
): void {
  const gauge = registry.getSingleMetric(COLLECTING_GAUGE) as { collect?: () => unknown } | undefined
  const collect = gauge?.collect
  if (gauge === undefined || typeof collect !== 'function')
    throw new Error(`prom-client's ${COLLECTING_GAUGE} has no collect of its own any more`)
  let collectedAt = Number.NEGATIVE_INFINITY
  gauge.collect = function collectOncePerWindow(this: unknown) {
    const at = now()
    if (at - collectedAt < windowMs) return undefined
    collectedAt = at
    return collect.call(this)
  }
}
