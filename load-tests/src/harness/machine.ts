/**
 * The facts a result needs to be read: cores, memory, kernel, versions of node, nginx, Nchan and
 * Redis, and the load average when it was taken (the machine may be shared).
 */
import { spawnSync } from 'node:child_process'
import os from 'node:os'

function version(command: string, args: string[], pattern: RegExp): string {
  const run = spawnSync(command, args, { encoding: 'utf8' })
  const out = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim()
  return pattern.exec(out)?.[1] ?? (out === '' ? 'not installed' : out)
}

export interface MachineFacts {
  readonly cores: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly kernel: string
  readonly node: string
  readonly nginx: string
  readonly nchan: string
  readonly redis: string
}

export function machineFacts(): MachineFacts {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: version('nginx', ['-v'], /nginx\/(\S+)/),
    nchan: version('dpkg-query', ['-W', 'libnginx-mod-nchan'], /\t(\S+)/),
    redis: version('redis-server', ['--version'], /v=(\S+)/),
  }
}

export function loadAverage(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100
}

/**
 * Waits, up to `maxWaitMs`, until the 1-minute load average falls to `quiet`: the previous
 * scenario's own load lingers in it for a minute or so, and only once it has decayed does the
 * figure say whether other work shares the cores. Resolves to the load average reached.
 */
export async function settleLoadAverage(quiet: number, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs
  while (loadAverage() > quiet && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5_000))
  return loadAverage()
}
