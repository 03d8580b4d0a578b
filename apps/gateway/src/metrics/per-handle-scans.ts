/**
 * prom-client's default metrics that walk every open handle of the process, replaced or dropped.
 * A full node holds about 19,000 sockets: `process_open_fds` read `/proc/self/fd` with
 * `readdirSync`, and `nodejs_active_handles`/`_resources` built an array of every handle, each
 * scrape. `/metrics` took 75 ms at 18,500 streams against 4.7 ms at 1,000, and the node's streams
 * waited for it (a probe of 2026-12-06). The open-file count matters at a 20,000-file limit, so
 * it stays, read off the event loop; the handle counts say nothing `herald_connections` does not,
 * and their `_total` gauges are named as counters, which `promtool check metrics` flags.
 */

import { readdir } from 'node:fs/promises'
import { Gauge, type Registry } from 'prom-client'

const OPEN_FDS = 'process_open_fds'

/** Default metrics dropped for what they cost a full node per scrape. */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
] as const

/** Replaces the scans in `registry`, which holds the default metrics already. */
export function replacePerHandleScans(registry: Registry): void {
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name)
  // Only Linux has /proc/self/fd, and only there does prom-client export the gauge.
  if (registry.getSingleMetric(OPEN_FDS) === undefined) return
  registry.removeSingleMetric(OPEN_FDS)
  new Gauge({
    name: OPEN_FDS,
    help: 'Number of open file descriptors.',
    registers: [registry],
    async collect() {
      // The directory is read on libuv's thread pool; the descriptor reading it is one of them.
      const fds = await readdir('/proc/self/fd').catch(() => undefined)
      if (fds !== undefined) this.set(fds.length - 1)
    },
  })
}
