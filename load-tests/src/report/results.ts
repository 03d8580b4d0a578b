/**
 * Result files: one JSON per scenario under load-tests/results/, with the command, the machine,
 * the date and the load average around the run, so RESULTS.md can be regenerated from them alone.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HostStalls } from '../harness/host-stalls.js'
import { type MachineFacts, machineFacts } from '../harness/machine.js'

export const RESULTS_DIR = fileURLToPath(new URL('../../../results/', import.meta.url))
export const PACKAGE_DIR = fileURLToPath(new URL('../../../', import.meta.url))

export type ScenarioName = 'idle' | 'unicast' | 'broadcast' | 'resume' | 'nodes' | 'soak'
export const SCENARIOS: readonly ScenarioName[] = ['idle', 'unicast', 'broadcast', 'resume', 'nodes', 'soak']

export interface ResultFile<R = unknown> {
  readonly scenario: ScenarioName
  readonly command: string
  readonly scale: string
  readonly date: string
  readonly machine: MachineFacts
  readonly loadAverage: { readonly before: number; readonly after: number }
  /** CPU time the hypervisor gave to other guests during the run, in % (absent in older files). */
  readonly cpuStealPercent?: number
  /** What a busy probe per core lost to pauses just before and just after the run (absent in older files). */
  readonly hostStalls?: { readonly before: HostStalls; readonly after: HostStalls }
  readonly params: unknown
  readonly runs: R[]
  /** Targets whose run failed, with the error. */
  readonly failures: Array<{ target: string; error: string }>
}

export async function writeResult(file: ResultFile, dir = RESULTS_DIR): Promise<string> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${file.scenario}.json`)
  await writeFile(path, `${formatJson(file)}\n`)
  return path
}

export async function readResult(scenario: ScenarioName, dir = RESULTS_DIR): Promise<ResultFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, `${scenario}.json`), 'utf8')) as ResultFile
  } catch {
    return undefined
  }
}

export { machineFacts }

const LINE_WIDTH = 120

/**
 * JSON laid out the way the repository's formatter (Biome) lays it out, so result files pass
 * `biome check` as written: objects one member per line, arrays of plain values on one line
 * when they fit.
 */
export function formatJson(value: unknown, indent = '', prefix = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const inline = `[${value.map((v) => JSON.stringify(v)).join(', ')}]`
      if (indent.length + prefix.length + inline.length + 1 <= LINE_WIDTH) return inline
    }
    const inner = `${indent}  `
    return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return '{}'
    const inner = `${indent}  `
    const members = entries.map(([k, v]) => {
      const key = `${JSON.stringify(k)}: `
      return `${inner}${key}${formatJson(v, inner, key)}`
    })
    return `{\n${members.join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value) ?? 'null'
}
