/**
 * Whether a step, and a scenario's run, count. A step's latency summarises only what arrived:
 * a server killed or frozen mid-run delivered nothing, its empty record read as p99 0 ms, and a
 * probe's `kill -9` of the gateway "met" unicast at 199/s while the run exited 0. So a step
 * counts only once every message it published reached every stream it was for, and a run
 * whose target failed, or whose Herald lost or repeated a message, fails the command.
 */

import type { WindowResult } from '../harness/measure.js'
import type { ResultFile } from './results.js'

/** Every message the step published reached every one of the `fanout` streams it was for. */
export function deliveredAll(step: Pick<WindowResult, 'published' | 'deliveries'>, fanout: number): boolean {
  return step.published > 0 && step.deliveries >= step.published * fanout
}

interface CountedRun {
  readonly target: string
  readonly verdict?: { readonly lost: number; readonly duplicates: number }
}

/**
 * Why this scenario's run failed, one line each; none when it did not. Only Herald's own losses
 * count: the naive peer loses a resume by design, which the report shows.
 */
export function runFailures(file: Pick<ResultFile, 'scenario' | 'runs' | 'failures'>): string[] {
  const reasons = file.failures.map(({ target, error }) => `${file.scenario} → ${target} did not run: ${error}`)
  if (file.runs.length === 0 && reasons.length === 0) reasons.push(`${file.scenario}: no target ran`)
  for (const run of file.runs as CountedRun[]) {
    const { verdict } = run
    if (!run.target.startsWith('herald') || verdict === undefined) continue
    if (verdict.lost > 0 || verdict.duplicates > 0) {
      reasons.push(`${file.scenario} → ${run.target}: ${verdict.lost} lost, ${verdict.duplicates} duplicates`)
    }
  }
  return reasons
}
