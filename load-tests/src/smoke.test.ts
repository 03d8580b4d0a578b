/**
 * The harness at tiny scale, every scenario against every target, as part of `pnpm test`: it
 * proves the harness still works (exact counts, well-formed results, a rendered report), never
 * how fast anything is. It drives the built harness (dist/), as the commands do: the workers and
 * servers it forks are plain JavaScript.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pollUntil } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WindowResult } from '../dist/src/harness/measure.js'
import { writeReport } from '../dist/src/report/report.js'
import type { ResultFile, ScenarioName } from '../dist/src/report/results.js'
import { runScenario } from '../dist/src/run.js'
import { functionInstructionsTable, runFunctionInstructions } from '../dist/src/scenarios/function-instructions.js'
import { heapTable, runHeap } from '../dist/src/scenarios/heap.js'
import type { IdleResult } from '../dist/src/scenarios/idle.js'
import { idleCostTable, runIdleCost } from '../dist/src/scenarios/idle-cost.js'
import { PLANS } from '../dist/src/scenarios/plans.js'
import { publishCostTable, runPublishCost } from '../dist/src/scenarios/publish-cost.js'
import type { ResumeResult } from '../dist/src/scenarios/resume.js'
import type { SoakResult } from '../dist/src/scenarios/soak.js'
import { runSubscribeCost, subscribeCostTable } from '../dist/src/scenarios/subscribe-cost.js'
import type { RateSeriesResult } from '../dist/src/scenarios/unicast.js'
import { runUnicastTail, unicastTailTable } from '../dist/src/scenarios/unicast-tail.js'
import {
  PER_CORE_TARGET_NAMES,
  REDIS_FLOOR_TARGET_NAMES,
  startTarget,
  TARGET_NAMES,
} from '../dist/src/targets/index.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-load-smoke-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function smoke<R>(scenario: ScenarioName): Promise<ResultFile<R>> {
  await runScenario(scenario, { scale: 'smoke', command: `smoke ${scenario}`, resultsDir: dir })
  const file = JSON.parse(await readFile(join(dir, `${scenario}.json`), 'utf8')) as ResultFile<R>
  expect(file.failures).toEqual([])
  expect(file.machine.cores).toBeGreaterThan(0)
  // Read from /proc/stat on Linux, where the harness runs.
  expect(file.cpuStealPercent).toBeGreaterThanOrEqual(0)
  // A probe per core ran for its whole time before the run and after it.
  for (const stalls of [file.hostStalls!.before, file.hostStalls!.after]) {
    expect(stalls.probes).toBe(availableParallelism())
    expect(stalls.seconds).toBeGreaterThanOrEqual(PLANS.smoke.hostStallSeconds)
    expect(stalls.lostPercent).toBeGreaterThanOrEqual(0)
    expect(stalls.lostPercent).toBeLessThan(100)
  }
  return file
}

function expectExactSteps(run: RateSeriesResult, fanout: number): void {
  expect(run.steps.length, run.target).toBeGreaterThan(0)
  for (const step of run.steps as WindowResult[]) {
    expect(step.publishErrors, run.target).toBe(0)
    expect(step.deliveries, `${run.target} at ${step.rate}/s`).toBe(step.published * fanout)
    expect(step.latencyMs.count, run.target).toBe(step.deliveries)
    // Every group's kernel time is recorded, and is a part of its CPU, never more.
    for (const [group, micros] of Object.entries(step.cpuMicrosPerDelivery)) {
      expect(step.kernelMicrosPerDelivery?.[group]).toBeGreaterThanOrEqual(0)
      expect(step.kernelMicrosPerDelivery?.[group]).toBeLessThanOrEqual(micros)
    }
  }
  expect(run.verdict, run.target).toEqual({ lost: 0, duplicates: 0, outOfOrder: 0 })
}

describe('load harness smoke', () => {
  it('idle: every target holds every stream and reports RSS at each step', async () => {
    const file = await smoke<IdleResult>('idle')
    expect(file.runs.map((r) => r.target)).toEqual([...TARGET_NAMES])
    for (const run of file.runs) {
      expect(run.connections).toBe(PLANS.smoke.idle.connections)
      expect(run.points.map((p) => p.connections)).toEqual([0, 15, 30])
    }
  })

  it('unicast: every published message arrives exactly once, in order, on every target and the Redis-fed floor', async () => {
    const file = await smoke<RateSeriesResult>('unicast')
    expect(file.runs.map((r) => r.target)).toEqual([...TARGET_NAMES, ...REDIS_FLOOR_TARGET_NAMES])
    for (const run of file.runs) expectExactSteps(run, 1)
    // The floor is fed through its own Redis, whose CPU is measured apart from the server's, as Herald's is.
    const floor = file.runs.find((r) => r.target === 'bare-node-redis')!
    for (const step of floor.steps) expect(Object.keys(step.cpuMicrosPerDelivery)).toContain('redis')
  })

  it('broadcast: each message reaches every stream, on every target and on the per-core ones', async () => {
    const file = await smoke<RateSeriesResult>('broadcast')
    expect(file.runs.map((r) => r.target)).toEqual([...TARGET_NAMES, ...PER_CORE_TARGET_NAMES])
    for (const run of file.runs) {
      expectExactSteps(run, PLANS.smoke.broadcast.connections)
      // 2 s at 5 msg/s, not the 1 s step: the step lasts until about 10 messages went out.
      for (const step of run.steps) expect(step.published).toBeGreaterThanOrEqual(9)
    }
  })

  it('per-core targets: Herald deals its streams over a gateway per core, nginx runs a worker per core', async () => {
    const cores = availableParallelism()
    const herald = await startTarget('herald-per-core', { connections: 10 })
    try {
      const streams = await Promise.all(Array.from({ length: 2 * cores }, (_, i) => herald.subscription(`u${i}`)))
      expect(herald.groups[0]!.pids()).toHaveLength(cores)
      expect(new Set(streams.map((s) => s.port)).size).toBe(cores)
    } finally {
      await herald.stop()
    }
    const nchan = await startTarget('nchan-memory-per-core', { connections: 10 })
    try {
      // The master forks its workers once it listens: await them, then count the master and its workers.
      const pids = await pollUntil(
        'nginx workers',
        async () => {
          const now = nchan.groups[0]!.pids()
          return now.length > cores ? now : undefined
        },
        { timeoutMs: 10_000 },
      )
      expect(pids).toHaveLength(cores + 1)
    } finally {
      await nchan.stop()
    }
  })

  it('resume: resuming targets replay exactly what was missed; the naive baseline loses it all', async () => {
    const file = await smoke<ResumeResult>('resume')
    expect(file.runs.map((r) => r.target)).toEqual(TARGET_NAMES.filter((name) => name !== 'bare-node'))
    for (const run of file.runs) {
      if (run.target === 'naive-hono') {
        expect(run.verdict.lost).toBe(run.expected)
      } else {
        expect(run.completed).toBe(true)
        expect(run.received).toBe(run.expected)
        expect(run.verdict).toEqual({ lost: 0, duplicates: 0, outOfOrder: 0 })
      }
    }
  })

  it('nodes: two gateways behind nginx deliver exactly', async () => {
    const file = await smoke<RateSeriesResult>('nodes')
    expect(file.runs.map((r) => r.target)).toEqual(['herald'])
    expectExactSteps(file.runs[0]!, 1)
  })

  it('soak: samples RSS and heap under churn, with exact delivery', async () => {
    const file = await smoke<SoakResult>('soak')
    const run = file.runs[0]!
    expect(run.samples.length).toBeGreaterThan(2)
    for (const sample of run.samples) {
      expect(sample.rssBytes).toBeGreaterThan(0)
      expect(sample.heapUsedBytes).toBeGreaterThan(0)
      expect(sample.heapTotalBytes).toBeGreaterThanOrEqual(sample.heapUsedBytes)
      expect(sample.externalBytes).toBeGreaterThan(0)
    }
    expect(run.verdict).toEqual({ lost: 0, duplicates: 0, outOfOrder: 0 })
  })

  it('heap: each idle stream adds one socket and one response, on Herald and on the bare floor', async () => {
    const results = [await runHeap('herald', PLANS.smoke.heap), await runHeap('bare-node', PLANS.smoke.heap)]
    for (const result of results) {
      const count = (name: string) => result.rows.find((row) => row.name === name)?.count
      expect(count('Socket'), result.target).toBe(1)
      expect(count('ServerResponse'), result.target).toBe(1)
      if (result.target === 'herald') expect(count('SseConnection')).toBe(1)
      expect(result.bytesPerStream).toBeGreaterThan(0)
    }
    expect(heapTable(results)).toContain('| **total** |')
  })

  it('publish-cost: every way publishes every message, each round', async () => {
    const params = PLANS.smoke.publishCost
    const rows = await runPublishCost(params)
    expect(rows.map((row) => row.way).sort()).toEqual([
      'herald_publish per message',
      'publish, one a millisecond',
      'publishBatch',
    ])
    for (const row of rows) {
      expect(row.messages).toBe(row.way === 'publish, one a millisecond' ? params.pacedMessages : params.messages)
      expect(row.published).toBe(row.messages)
      expect(row.publisherMicrosPerMessage).toBeGreaterThan(0)
    }
    expect(publishCostTable(rows).split('\n')).toHaveLength(2 + rows.length)
  })

  it("subscribe-cost: both subscribers receive every round's every message", async () => {
    const params = PLANS.smoke.subscribeCost
    const rows = await runSubscribeCost(params)
    expect(rows.map((row) => `${row.way} ${row.round}`).sort()).toEqual(['herald 1', 'ioredis-default 1'])
    for (const row of rows) {
      expect(row.received).toBe(params.messages)
      // Linux splits a process's exact run time into user and system by sampled ticks, so a
      // round this small can show all of it as one part; only the sum is sure to be above 0.
      expect(row.userMicrosPerMessage).toBeGreaterThanOrEqual(0)
      expect(row.userMicrosPerMessage + row.systemMicrosPerMessage).toBeGreaterThan(0)
    }
    expect(subscribeCostTable(rows).split('\n')).toHaveLength(2 + rows.length)
  })

  it('function-instructions: counts what each Herald function executes in Redis, per call and per message', async () => {
    const params = PLANS.smoke.functionInstructions
    const rows = await runFunctionInstructions(params)
    expect(rows.map((row) => row.call.split(',')[0])).toEqual([
      'herald_publish_batch',
      'herald_publish',
      'herald_read',
      'herald_read',
      'herald_read',
    ])
    for (const row of rows) {
      // The read of 60 KB entries makes its own few calls: each may copy megabytes under valgrind.
      expect(row.calls).toBe(row.call.includes('60 KB') ? 20 : params.calls)
      // A call that did nothing in Lua would cost a few hundred instructions, not thousands.
      expect(row.instructionsPerMessage).toBeGreaterThan(2_000)
      expect(row.instructionsPerCall).toBeGreaterThanOrEqual(row.instructionsPerMessage)
    }
    expect(functionInstructionsTable(rows).split('\n')).toHaveLength(2 + rows.length)
  })

  it("unicast-tail: the gateway's histogram counts every delivery the clients received", async () => {
    const params = PLANS.smoke.unicastTail
    const rows = await runUnicastTail(params)
    expect(rows.map((row) => row.rate)).toEqual(params.rates)
    for (const row of rows) {
      expect(row.deliveries).toBeGreaterThan(0)
      expect(row.gatewayCounted).toBe(row.deliveries)
      expect(row.gatewayOver10Ms).toBeGreaterThanOrEqual(0)
    }
    expect(unicastTailTable(rows).split('\n')).toHaveLength(2 + rows.length)
  })

  it('idle-cost: every Node server heartbeats its idle streams, and both windows read its CPU', async () => {
    const params = PLANS.smoke.idleCost
    const results = []
    for (const target of ['herald', 'naive-hono', 'bare-node'] as const) results.push(await runIdleCost(target, params))
    for (const result of results) {
      // The window spans four intervals: every stream hears at least one heartbeat, however slow the machine.
      expect(result.heartbeatsPerSecond * params.windowSeconds).toBeGreaterThanOrEqual(params.connections)
      for (const rate of [result.empty, result.idle]) {
        const server = Object.keys(rate.total)[0]!
        expect(rate.total[server]).toBeGreaterThanOrEqual(0)
        expect(rate.kernel[server]).toBeLessThanOrEqual(rate.total[server]!)
      }
      expect(Number.isFinite(result.microsPerHeartbeat)).toBe(true)
    }
    expect(Object.keys(results[0]!.idle.total)).toEqual(['gateway', 'redis'])
    expect(idleCostTable(results).split('\n')).toHaveLength(2 + results.length)
  })

  it('report: RESULTS.md and its charts are generated from the JSON', async () => {
    const out = join(dir, 'RESULTS.md')
    await writeReport(dir, out)
    const markdown = await readFile(out, 'utf8')
    for (const heading of [
      '## 1. Idle capacity',
      '## 2. Unicast',
      '## 3. Broadcast',
      '## 4. Resume storm',
      '## 5.',
      '## 6. Soak',
    ]) {
      expect(markdown).toContain(heading)
    }
    expect(markdown).toContain('| server CPU µs/delivery | of it in the kernel |')
    const charts = await readdir(join(dir, 'charts'))
    expect(charts).toEqual(
      expect.arrayContaining([
        'memory-vs-connections.svg',
        'unicast-cpu-per-delivery.svg',
        'broadcast-latency.svg',
        'soak-memory.svg',
      ]),
    )
    // Every chart it links is where it wrote it, beside this RESULTS.md rather than under results/.
    const links = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((match) => match[1]!)
    expect(links.length).toBeGreaterThan(5)
    for (const link of links) expect(charts).toContain(link.replace(/^charts\//, ''))
    expect(links.every((link) => link.startsWith('charts/'))).toBe(true)
  })
})
