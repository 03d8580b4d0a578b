#!/usr/bin/env node
/**
 * The harness's command line:
 *   node dist/src/cli.js <idle|unicast|broadcast|resume|nodes|soak|all|report|heap|publish-cost|subscribe-cost|function-instructions|unicast-tail|idle-cost|host-stalls>
 *     [--scale smoke|medium|full] [--targets herald,nchan-memory,...] [--minutes N] [--profile] [--with-soak] [--out DIR]
 * `all` runs every scenario side by side (soak excluded unless --with-soak) and rewrites RESULTS.md.
 * `heap` prints where an idle stream's heap goes, for Herald and the bare node:http floor;
 * `publish-cost` prints what publishing through Redis costs per message, batched and not;
 * `subscribe-cost` prints what receiving a sharded Pub/Sub message costs a subscriber, Herald's and ioredis's default;
 * `function-instructions` prints the instructions Redis executes in each Herald function, under callgrind;
 * `unicast-tail` prints, per unicast step, the clients' latency beside the gateway's own;
 * `idle-cost` prints what Node servers spend with no streams and with idle streams, per heartbeat;
 * `host-stalls` prints what a busy loop per core loses to pauses the host does not count as steal.
 */
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { hostStallsTable, measureHostStalls } from './harness/host-stalls.js'
import { loadAverage } from './harness/machine.js'
import { writeReport } from './report/report.js'
import { RESULTS_DIR, type ResultFile, SCENARIOS, type ScenarioName } from './report/results.js'
import { runFailures } from './report/run-verdict.js'
import { runScenario, scenarioTargets } from './run.js'
import { functionInstructionsTable, runFunctionInstructions } from './scenarios/function-instructions.js'
import { heapTable, runHeap } from './scenarios/heap.js'
import { idleCostTable, runIdleCost } from './scenarios/idle-cost.js'
import { PLANS, type Scale } from './scenarios/plans.js'
import { publishCostTable, runPublishCost } from './scenarios/publish-cost.js'
import { runSubscribeCost, subscribeCostTable } from './scenarios/subscribe-cost.js'
import { runUnicastTail, unicastTailTable } from './scenarios/unicast-tail.js'
import { PER_CORE_TARGET_NAMES, REDIS_FLOOR_TARGET_NAMES, TARGET_NAMES, type TargetName } from './targets/index.js'

// `pnpm <script> -- --flag` passes the `--` through; flags after it are still flags here.
const args = process.argv.slice(2).filter((arg) => arg !== '--')

function fail(message: string): never {
  console.error(message)
  process.exit(2)
}

/** Says why a scenario's run failed, and makes the command exit 1 (its results are still written). */
function failIfRunFailed(result: ResultFile): void {
  const reasons = runFailures(result)
  for (const reason of reasons) console.error(`FAILED: ${reason}`)
  if (reasons.length > 0) process.exitCode = 1
}

const KNOWN_TARGETS: readonly TargetName[] = [...TARGET_NAMES, ...PER_CORE_TARGET_NAMES, ...REDIS_FLOOR_TARGET_NAMES]

const DIAGNOSTICS = [
  'heap',
  'publish-cost',
  'subscribe-cost',
  'function-instructions',
  'unicast-tail',
  'idle-cost',
  'host-stalls',
] as const
const USAGE = `usage: node dist/src/cli.js <${[...SCENARIOS, 'all', 'report', ...DIAGNOSTICS].join('|')}>
  [--scale smoke|medium|full] [--targets ${KNOWN_TARGETS.join(',')}] [--minutes N] [--profile] [--with-soak] [--out DIR]`

// An unknown or malformed flag is a usage error, not a stack trace.
const { positionals, values } = (() => {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        scale: { type: 'string', default: 'full' },
        targets: { type: 'string' },
        minutes: { type: 'string' },
        profile: { type: 'boolean', default: false },
        'with-soak': { type: 'boolean', default: false },
        out: { type: 'string' },
      },
    })
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`)
  }
})()

/** The diagnostics that read a Node server's own state take only those. */
function nodeServers(names: readonly TargetName[], what: string): readonly TargetName[] {
  const others = names.filter((name) => !['herald', 'naive-hono', 'bare-node'].includes(name))
  if (others.length > 0) fail(`${what} measures Node servers: herald, naive-hono, bare-node (not ${others.join(', ')})`)
  return names
}

// Ctrl-C or a kill: exit normally, so every server and worker this run started is stopped on the way out.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

const command = positionals[0]
if (positionals.length > 1) fail(`unexpected arguments: ${positionals.slice(1).join(' ')}`)
const scale = values.scale as Scale
if (!['smoke', 'medium', 'full'].includes(scale)) fail(`--scale must be smoke, medium or full, not ${scale}`)
const targets = values.targets?.split(',') as TargetName[] | undefined
for (const t of targets ?? [])
  if (!KNOWN_TARGETS.includes(t)) fail(`unknown target ${t}; known: ${KNOWN_TARGETS.join(', ')}`)
const minutes = values.minutes === undefined ? undefined : Number(values.minutes)
if (minutes !== undefined && !(minutes > 0)) fail('--minutes must be a positive number')

// --out DIR keeps an ad-hoc run (one target, a profile) away from the committed results.
const resultsDir = values.out === undefined ? RESULTS_DIR : resolve(values.out)
const report = () => writeReport(resultsDir, values.out === undefined ? undefined : join(resultsDir, 'RESULTS.md'))

const options = {
  resultsDir,
  scale,
  targets,
  minutes,
  cpuProfileDir: values.profile ? join(resultsDir, 'profiles') : undefined,
  // The package script for `all` is `bench:all`; record the command a reader can run.
  command: `pnpm --filter @herald/load-tests ${args.map((arg) => (arg === 'all' ? 'bench:all' : arg)).join(' ')}`,
  log: (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
}

if (command === 'report') {
  await report()
} else if (command === 'heap') {
  const results = []
  for (const target of nodeServers(targets ?? ['herald', 'bare-node'], 'heap snapshots')) {
    options.log(`heap → ${target}`)
    results.push(await runHeap(target, PLANS[scale].heap))
  }
  console.log(heapTable(results))
} else if (command === 'idle-cost') {
  const results = []
  for (const target of nodeServers(targets ?? ['herald', 'naive-hono', 'bare-node'], 'idle-cost')) {
    options.log(`idle-cost → ${target}`)
    results.push(await runIdleCost(target, PLANS[scale].idleCost))
  }
  console.log(idleCostTable(results))
} else if (command === 'publish-cost') {
  console.log(publishCostTable(await runPublishCost(PLANS[scale].publishCost)))
} else if (command === 'subscribe-cost') {
  console.log(subscribeCostTable(await runSubscribeCost(PLANS[scale].subscribeCost)))
} else if (command === 'function-instructions') {
  console.log(functionInstructionsTable(await runFunctionInstructions(PLANS[scale].functionInstructions)))
} else if (command === 'unicast-tail') {
  console.log(unicastTailTable(await runUnicastTail(PLANS[scale].unicastTail)))
} else if (command === 'host-stalls') {
  console.log(hostStallsTable(await measureHostStalls(PLANS[scale].hostStallSeconds)))
} else if (command === 'all') {
  if (loadAverage() > 0.7) {
    options.log(
      `warning: 1-minute load average ${loadAverage()} > 0.7; other work shares the cores, CPU figures will be inflated`,
    )
  }
  // Each scenario that runs one of --targets, at least: one that runs none would replace its
  // published results with an empty run.
  const scenarios = SCENARIOS.filter((s) => s !== 'soak' || values['with-soak']).filter(
    (s) => scenarioTargets(s, options.targets).length > 0,
  )
  for (const scenario of scenarios) failIfRunFailed(await runScenario(scenario, options))
  await report()
} else if (SCENARIOS.includes(command as ScenarioName)) {
  // A run of no target would still replace the scenario's published results with an empty one.
  if (scenarioTargets(command as ScenarioName, options.targets).length === 0) {
    fail(
      `${command} runs none of --targets ${options.targets?.join(',')}: it runs ${scenarioTargets(command as ScenarioName, undefined).join(', ')}`,
    )
  }
  const result = await runScenario(command as ScenarioName, options)
  failIfRunFailed(result)
  if (command === 'soak') {
    const run = result.runs[0] as { passed?: boolean } | undefined
    console.log(run?.passed ? 'SOAK PASSED' : 'SOAK FAILED')
    if (!run?.passed) process.exitCode = 1
  }
  await report()
} else {
  fail(command === undefined ? USAGE : `unknown command ${command}\n${USAGE}`)
}
process.exit(process.exitCode ?? 0)
