/**
 * CPU steal: the share of the machine's CPU time that the hypervisor gave to other guests (top's
 * `%st`). On a shared virtual machine it can double every CPU-bound figure of a run while the load
 * average still reads quiet, so each result records it beside the load average. The parsing is
 * pure; `readCpuTimes` is the one read of /proc/stat.
 */
import { readFileSync } from 'node:fs'

export interface CpuTimes {
  /** All CPU time, in clock ticks, over every state /proc/stat lists. */
  readonly total: number
  readonly steal: number
}

/** The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ... */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '))
  if (line === undefined) return undefined
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
  if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return undefined
  return { total: fields.reduce((sum, n) => sum + n, 0), steal: fields[7]! }
}

/** Steal between two readings, as a percentage of all CPU time between them, to one decimal. */
export function stealPercent(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total
  return total > 0 ? Math.round((1000 * (after.steal - before.steal)) / total) / 10 : 0
}

/** Undefined where there is no /proc/stat (not Linux). */
export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'))
  } catch {
    return undefined
  }
}
