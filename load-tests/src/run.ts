/**
 * Runs one scenario against each of its targets in turn, in the same run, and writes its result
 * file. A target that fails is recorded with its error; the others still run.
 */
import { readCpuTimes, stealPercent } from './harness/cpu-steal.js'
import { measureHostStalls } from './harness/host-stalls.js'
import { loadAverage, settleLoadAverage } from './harness/machine.js'
import { machineFacts, type ResultFile, type ScenarioName, writeResult } from './report/results.js'
import { runBroadcast } from './scenarios/broadcast.js'
import { runIdle } from './scenarios/idle.js'
import { PLANS, type Plan, type Scale } from './scenarios/plans.js'
import { runResume } from './scenarios/resume.js'
import { runSoak } from './scenarios/soak.js'
import { runUnicast } from './scenarios/unicast.js'
import { PER_CORE_TARGET_NAMES, REDIS_FLOOR_TARGET_NAMES, TARGET_NAMES, type TargetName } from './targets/index.js'

export interface RunOptions {
  readonly scale: Scale
  readonly targets?: readonly TargetName[] | undefined
  readonly minutes?: number | undefined
  readonly cpuProfileDir?: string | undefined
  readonly resultsDir?: string | undefined
  readonly command: string
  readonly log?: (line: string) => void
}

/**
 * Which targets each scenario compares; the multi-node and soak scenarios are Herald's own. The
 * bare floor keeps no history, so a resume storm would only show what the naive server shows.
 * Broadcast also runs Herald and Nchan with a process per core: one process's fan-out to 10k
 * streams is serial, so its p99 is bounded by one core, whatever the machine has. Unicast also
 * runs the bare floor fed by Redis, so Herald's tail can be set against what Redis, the
 * publisher and one write per message leave on the same cores.
 */
const SCENARIO_TARGETS: Record<ScenarioName, readonly TargetName[]> = {
  idle: TARGET_NAMES,
  unicast: [...TARGET_NAMES, ...REDIS_FLOOR_TARGET_NAMES],
  broadcast: [...TARGET_NAMES, ...PER_CORE_TARGET_NAMES],
  resume: TARGET_NAMES.filter((name) => name !== 'bare-node'),
  nodes: ['herald'],
  soak: ['herald'],
}

function paramsOf(scenario: ScenarioName, plan: Plan, options: RunOptions): unknown {
  const params =
    scenario === 'soak' && options.minutes !== undefined ? { ...plan.soak, minutes: options.minutes } : plan[scenario]
  return options.cpuProfileDir === undefined ? params : { ...params, cpuProfileDir: options.cpuProfileDir }
}

function runOne(scenario: ScenarioName, target: TargetName, params: unknown): Promise<unknown> {
  switch (scenario) {
    case 'idle':
      return runIdle(target, params as Plan['idle'])
    case 'unicast':
    case 'nodes':
      return runUnicast(target, params as Plan['unicast'])
    case 'broadcast':
      return runBroadcast(target, params as Plan['broadcast'])
    case 'resume':
      return runResume(target, params as Plan['resume'])
    case 'soak':
      return runSoak(params as Plan['soak'])
  }
}

/** Below this 1-minute load average, nothing else is using the 2 cores. */
export const QUIET_LOAD_AVERAGE = 0.7

function cpuStealOver(before: ReturnType<typeof readCpuTimes>): Pick<ResultFile, 'cpuStealPercent'> {
  const after = readCpuTimes()
  return before === undefined || after === undefined ? {} : { cpuStealPercent: stealPercent(before, after) }
}

/** The targets a scenario runs, of those asked for (all of its own when none are). */
export function scenarioTargets(scenario: ScenarioName, asked: readonly TargetName[] | undefined): TargetName[] {
  return SCENARIO_TARGETS[scenario].filter((t) => asked?.includes(t) ?? true)
}

export async function runScenario(scenario: ScenarioName, options: RunOptions): Promise<ResultFile> {
  const log = options.log ?? (() => {})
  const plan = PLANS[options.scale]
  const params = paramsOf(scenario, plan, options)
  const targets = scenarioTargets(scenario, options.targets)
  if (options.scale === 'full') log(`${scenario}: waiting for the load average to settle (at most 2 min)`)
  const before = options.scale === 'full' ? await settleLoadAverage(QUIET_LOAD_AVERAGE, 120_000) : loadAverage()
  // After the settle, whose reading the probes' own load would spoil; before the steal window.
  const stallsBefore = await measureHostStalls(plan.hostStallSeconds)
  log(`${scenario}: host stalls ${JSON.stringify(stallsBefore)}`)
  const cpuBefore = readCpuTimes()
  const runs: unknown[] = []
  const failures: ResultFile['failures'] = []
  for (const target of targets) {
    log(`${scenario} → ${target} (load average ${loadAverage()})`)
    try {
      const result = await runOne(scenario, target, params)
      runs.push(result)
      log(
        `${scenario} → ${target}: ${JSON.stringify(result, (k, v) => (k === 'points' || k === 'samples' ? undefined : v))}`,
      )
    } catch (error) {
      failures.push({ target, error: (error as Error).message })
      log(`${scenario} → ${target} FAILED: ${(error as Error).message}`)
    }
  }
  // Both read before the probes, whose own load is not the run's.
  const loadAfter = loadAverage()
  const steal = cpuStealOver(cpuBefore)
  const stallsAfter = await measureHostStalls(plan.hostStallSeconds)
  log(`${scenario}: host stalls ${JSON.stringify(stallsAfter)}`)
  const file: ResultFile = {
    scenario,
    command: options.command,
    scale: options.scale,
    date: new Date().toISOString(),
    machine: machineFacts(),
    loadAverage: { before, after: loadAfter },
    ...steal,
    hostStalls: { before: stallsBefore, after: stallsAfter },
    params,
    runs,
    failures,
  }
  await writeResult(file, options.resultsDir)
  return file
}
