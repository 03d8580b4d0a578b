/**
 * One busy core for the host-stall measurement (`host-stalls.ts`), run as a forked child. It
 * reads the monotonic clock in a tight loop for the seconds given as its first argument and
 * reports every gap between two reads of at least the milliseconds given as its second: time in
 * which this process did not run. The loop allocates nothing once optimised, so the probe's own
 * collections cannot pose as stalls, and it never yields, so every gap was taken from it.
 */
import { performance } from 'node:perf_hooks'
import type { ProbeReport } from './host-stalls.js'

/** More pauses than this in one probe is a machine too busy to measure; the rest are not kept. */
const MAX_PAUSES = 100_000

const [seconds, minPauseMs] = process.argv.slice(2).map(Number)
if (!(seconds! > 0) || !(minPauseMs! > 0)) throw new Error('stall-probe: give the seconds and the least pause in ms')

const pauses = new Float64Array(MAX_PAUSES)
let count = 0
const start = performance.now()
const end = start + seconds! * 1000
let last = start
for (;;) {
  const now = performance.now()
  if (now - last >= minPauseMs! && count < MAX_PAUSES) pauses[count++] = now - last
  last = now
  if (now >= end) break
}
const report: ProbeReport = { elapsedMs: last - start, pausesMs: Array.from(pauses.subarray(0, count)) }
process.send?.(report, () => process.exit(0))
