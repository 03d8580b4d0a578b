/**
 * Host stalls: the time a busy process loses to pauses, and who took it. A p99 in milliseconds
 * is made of pauses of that size, and a load average or a steal column cannot show them: on
 * these virtual machines /proc/stat read 0 % steal while a busy loop on each core lost 0.5–5 %
 * of its time in pauses of up to tens of ms (2026-12-03). So each result records them: one busy
 * probe per core (`stall-probe.ts`) for a few seconds, just before and just after the scenario,
 * with the CPU every other process of the machine used meanwhile (the machine's own services: a
 * message broker, a database, a memory-monitoring kernel thread). A loss well above that other
 * work is the host's. Summing is pure; `measureHostStalls` forks the probes and reads /proc.
 */
import { fork } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { markdownTable } from '../report/markdown-table.js'
import { everyProcessCpu } from './proc-sampler.js'

/** A gap between two clock reads at least this long is a pause, not the loop's own pace. */
export const MIN_PAUSE_MS = 0.5
/** How many of the busiest other processes a result names. */
const NAMED_OTHERS = 3

const PROBE = new URL('./stall-probe.js', import.meta.url).pathname

/** What one probe saw. */
export interface ProbeReport {
  readonly elapsedMs: number
  /** Every pause of at least {@link MIN_PAUSE_MS}, in ms. */
  readonly pausesMs: readonly number[]
}

/** CPU one other process used while the probes ran. */
export interface OtherWork {
  readonly name: string
  readonly ms: number
}

export interface HostStalls {
  /** Busy probes, one per core. */
  readonly probes: number
  readonly seconds: number
  /** The share of the probes' time spent in pauses, in %. */
  readonly lostPercent: number
  /** Pauses per second of one probe. */
  readonly pausesPerSecond: number
  readonly longestMs: number
  /** CPU every other process used meanwhile, in % of the probes' time: comparable with `lostPercent`. */
  readonly otherWorkPercent: number
  /** The busiest of them, e.g. `kdamond.0 20 ms`. */
  readonly busiestOthers: readonly string[]
}

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places

/** The probes' reports and the other processes' CPU over the same window, summed. */
export function summarizeStalls(reports: readonly ProbeReport[], others: readonly OtherWork[]): HostStalls {
  let elapsedMs = 0
  let pausedMs = 0
  let pauses = 0
  let longestMs = 0
  for (const report of reports) {
    elapsedMs += report.elapsedMs
    pauses += report.pausesMs.length
    for (const pause of report.pausesMs) {
      pausedMs += pause
      if (pause > longestMs) longestMs = pause
    }
  }
  const share = (ms: number) => (elapsedMs > 0 ? ms / elapsedMs : 0)
  const busiest = others.filter((o) => o.ms > 0).sort((a, b) => b.ms - a.ms)
  return {
    probes: reports.length,
    seconds: reports.length > 0 ? round(elapsedMs / reports.length / 1000, 1) : 0,
    lostPercent: round(100 * share(pausedMs), 2),
    pausesPerSecond: round(1000 * share(pauses), 1),
    longestMs: round(longestMs, 1),
    otherWorkPercent: round(100 * share(busiest.reduce((sum, o) => sum + o.ms, 0)), 2),
    busiestOthers: busiest.slice(0, NAMED_OTHERS).map((o) => `${o.name} ${Math.round(o.ms)} ms`),
  }
}

function runProbe(seconds: number, onStart: (pid: number) => void): Promise<ProbeReport> {
  return new Promise((resolve, reject) => {
    const child = fork(PROBE, [String(seconds), String(MIN_PAUSE_MS)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    })
    if (child.pid !== undefined) onStart(child.pid)
    const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000 + 30_000)
    child.once('message', (report: ProbeReport) => resolve(report))
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      // After a report this settles nothing; without one, the probe failed.
      reject(new Error(`stall probe exited (${signal ?? code}) without a report`))
    })
  })
}

/** A busy probe on every core for `seconds`, and every other process's CPU meanwhile. */
export async function measureHostStalls(seconds: number): Promise<HostStalls> {
  const probes = new Set<number>()
  const before = everyProcessCpu()
  const reports = await Promise.all(
    Array.from({ length: availableParallelism() }, () => runProbe(seconds, (pid) => probes.add(pid))),
  )
  const others: OtherWork[] = []
  for (const [pid, { name, cpuSeconds }] of everyProcessCpu()) {
    // The probes' own time, and this process's, which only waits for them, are not interference.
    if (probes.has(pid) || pid === process.pid) continue
    others.push({ name, ms: 1000 * (cpuSeconds - (before.get(pid)?.cpuSeconds ?? 0)) })
  }
  return summarizeStalls(reports, others)
}

/** One measurement as a Markdown table, for the `host-stalls` diagnostic. */
export function hostStallsTable(stalls: HostStalls): string {
  return markdownTable(
    [
      'busy probes',
      'seconds',
      `time lost in pauses ≥ ${MIN_PAUSE_MS} ms`,
      'pauses/s per probe',
      'longest',
      'other processes’ CPU',
      'busiest of them',
    ],
    [
      [
        stalls.probes,
        stalls.seconds,
        `${stalls.lostPercent} %`,
        stalls.pausesPerSecond,
        `${stalls.longestMs} ms`,
        `${stalls.otherWorkPercent} %`,
        stalls.busiestOthers.join(', '),
      ],
    ],
  )
}
