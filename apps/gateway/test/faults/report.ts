/**
 * Where scenario figures go: each scenario writes its own JSON file into the run's
 * report directory (provided by report-setup.ts), so figures from test files run in
 * separate workers come together in one table at the end of the run.
 */

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inject } from 'vitest'
import type { ScenarioFigures } from './ledger.js'

declare module 'vitest' {
  export interface ProvidedContext {
    faultReportDir: string
  }
}

export function writeFigures(figures: ScenarioFigures): void {
  const name = figures.scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase()
  writeFileSync(join(inject('faultReportDir'), `${name}.json`), `${JSON.stringify(figures, null, 2)}\n`)
}
