/**
 * Vitest global setup for the fault suite: provides a fresh directory for the
 * scenarios' figures, and at the end of the run prints them as a table and writes
 * them all to `<tmpdir>/herald-faults-<scale>.json` (or HERALD_FAULT_REPORT, when set).
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import type { ScenarioFigures } from './ledger.js'
import { FAULT_SCALE } from './scale.js'

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'herald-faults-'))
  project.provide('faultReportDir', dir)
  return () => {
    const files = readdirSync(dir).filter((file) => file.endsWith('.json'))
    const rows = files
      .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as ScenarioFigures)
      .sort((a, b) => a.scenario.localeCompare(b.scenario))
    rmSync(dir, { recursive: true, force: true })
    if (rows.length === 0) return
    const target = process.env['HERALD_FAULT_REPORT'] ?? join(tmpdir(), `herald-faults-${FAULT_SCALE}.json`)
    writeFileSync(target, `${JSON.stringify({ scale: FAULT_SCALE, scenarios: rows }, null, 2)}\n`)
    console.info(`\n${figuresTable(FAULT_SCALE, rows)}\n\nfigures per client: ${target}\n`)
  }
}

const COLUMNS = [
  'published',
  'clients',
  'received',
  'lost',
  'duplicated',
  'outOfOrder',
  'resets',
  'skippedAfterReset',
  'retried',
] as const

/** A Markdown table, one row per scenario. */
export function figuresTable(scale: string, rows: readonly ScenarioFigures[]): string {
  const header = ['scenario', ...COLUMNS]
  const lines = [
    `fault suite, scale ${scale}`,
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${[row.scenario, ...COLUMNS.map((column) => String(row[column]))].join(' | ')} |`),
  ]
  return lines.join('\n')
}
