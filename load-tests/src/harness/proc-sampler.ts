/**
 * Server cost from /proc: CPU (utime + stime over CLK_TCK), the kernel's part of it (stime),
 * and VmRSS of named groups of processes, e.g. a gateway, its Redis, nginx's master and workers.
 * Linux only.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

export interface ProcessGroup {
  readonly name: string
  /** Read at each sample, so groups can follow processes that come and go (nginx workers). */
  pids(): readonly number[]
}

export interface GroupSample {
  readonly cpuSeconds: number
  /** The part of `cpuSeconds` spent in the kernel (stime): on loopback, a socket write's syscall also runs the receiving side's TCP stack. */
  readonly kernelSeconds: number
  readonly rssBytes: number
  /** Each process's CPU so far, by pid: a window counts only what each spent within it. */
  readonly perProcess: ReadonlyMap<number, ProcessCpu>
}

interface ProcessCpu {
  readonly cpuSeconds: number
  readonly kernelSeconds: number
}

export type Snapshot = Record<string, GroupSample>

/** A process's command name and CPU from its /proc/<pid>/stat line. */
export function parseProcStat(stat: string): { name: string; cpuSeconds: number; kernelSeconds: number } {
  // The command name is parenthesised and may contain spaces; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const kernelSeconds = Number(fields[12]) / CLOCK_TICKS
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    cpuSeconds: Number(fields[11]) / CLOCK_TICKS + kernelSeconds,
    kernelSeconds,
  }
}

function readProcess(pid: number): Omit<GroupSample, 'perProcess'> | undefined {
  try {
    const { cpuSeconds, kernelSeconds } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'))
    const status = readFileSync(`/proc/${pid}/status`, 'latin1')
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)
    return { cpuSeconds, kernelSeconds, rssBytes: rss === null ? 0 : Number(rss[1]) * 1024 }
  } catch {
    return undefined
  }
}

/** Every process's command name and CPU seconds so far, by pid: what the machine as a whole is doing. */
export function everyProcessCpu(): Map<number, { name: string; cpuSeconds: number }> {
  const processes = new Map<number, { name: string; cpuSeconds: number }>()
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    try {
      const { name, cpuSeconds } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'))
      processes.set(pid, { name, cpuSeconds })
    } catch {
      // Gone between the listing and the read.
    }
  }
  return processes
}

/** The pid and its direct children (e.g. nginx's master and its workers). */
export function withChildren(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim()
    return [pid, ...(children === '' ? [] : children.split(' ').map(Number))]
  } catch {
    return [pid]
  }
}

export function snapshot(groups: readonly ProcessGroup[]): Snapshot {
  const result: Snapshot = {}
  for (const group of groups) {
    let cpuSeconds = 0
    let kernelSeconds = 0
    let rssBytes = 0
    const perProcess = new Map<number, ProcessCpu>()
    for (const pid of group.pids()) {
      const sample = readProcess(pid)
      if (sample === undefined) continue
      cpuSeconds += sample.cpuSeconds
      kernelSeconds += sample.kernelSeconds
      rssBytes += sample.rssBytes
      perProcess.set(pid, { cpuSeconds: sample.cpuSeconds, kernelSeconds: sample.kernelSeconds })
    }
    result[group.name] = { cpuSeconds, kernelSeconds, rssBytes, perProcess }
  }
  return result
}

/**
 * CPU seconds each group spent between two snapshots (or only its kernel part), process by
 * process: a group's totals lost a process that exited within the window with its whole
 * lifetime's CPU, and a gateway killed mid-run read as -19,062 µs a delivery. Now such a
 * process counts for nothing (its last moments are not seen), and one that started within
 * the window for all it spent.
 */
export function cpuBetween(
  before: Snapshot,
  after: Snapshot,
  part: 'cpuSeconds' | 'kernelSeconds' = 'cpuSeconds',
): Record<string, number> {
  const spent: Record<string, number> = {}
  for (const [name, sample] of Object.entries(after)) {
    const earlier = before[name]?.perProcess
    let seconds = 0
    for (const [pid, now] of sample.perProcess) seconds += now[part] - (earlier?.get(pid)?.[part] ?? 0)
    spent[name] = seconds
  }
  return spent
}
