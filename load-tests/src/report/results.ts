/**
 * Result files: one JSON per scenario under load-tests/results/, with the command, the machine,
 * the date and the load average around the run, so RESULTS.md can be regenerated from them alone.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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
  readonly params: unknown
  readonly runs: R[]
  /** Targets whose run failed, with the error. */
  readonly failures: Array<{ target: string; error: string }>
}

export async function writeResult(file: ResultFile, dir = RESULTS_DIR): Promise<string> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${file.scenario}.json`)
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`)
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
