/**
 * What a server spends while nothing is published: first with no streams, then holding
 * `connections` streams that carry only heartbeats. An idle stream costs its heartbeats (a
 * write that wakes a receiver gone to sleep) and whatever else the server does per stream, so
 * the difference between the two windows, over the heartbeats the clients counted, is the CPU
 * one idle stream costs per heartbeat. With a million mostly quiet users that is most of a
 * fleet's CPU (`P_idle` and `C_heartbeat` in docs/capacity.md).
 *
 * Node servers only: the Nchan peer is configured without pings. A diagnostic: it prints, and
 * writes no result file.
 */
import { cpuBetween, type ProcessGroup, snapshot } from '../harness/proc-sampler.js'
import { markdownTable } from '../report/markdown-table.js'
import type { TargetName } from '../targets/index.js'
import { sleep, subscriptions, withSession } from './session.js'

export interface IdleCostParams {
  readonly connections: number
  readonly heartbeatIntervalMs: number
  /** Quiet before each window: after start, and after the burst of connects (whose garbage V8 collects late). */
  readonly settleSeconds: number
  readonly windowSeconds: number
}

/** CPU of each process group over a window, in ms per second; `kernel` is its stime part. */
export interface CpuRate {
  readonly total: Record<string, number>
  readonly kernel: Record<string, number>
}

export interface IdleCostResult {
  readonly target: TargetName
  readonly connections: number
  readonly heartbeatIntervalMs: number
  readonly empty: CpuRate
  readonly idle: CpuRate
  readonly heartbeatsPerSecond: number
  /** The server's CPU (its first group) added by the idle streams, per heartbeat they received, in µs. */
  readonly microsPerHeartbeat: number
  readonly kernelMicrosPerHeartbeat: number
}

export async function runIdleCost(name: TargetName, params: IdleCostParams): Promise<IdleCostResult> {
  const timeoutMs = (2 * (params.settleSeconds + params.windowSeconds) + 120) * 1000
  return withSession(
    name,
    { connections: params.connections, heartbeatIntervalMs: params.heartbeatIntervalMs, timeoutMs },
    async ({ target, fleet, open }) => {
      await sleep(params.settleSeconds * 1000)
      const empty = await cpuRate(target.groups, params.windowSeconds)
      await open(await subscriptions(target, params.connections, 'idle-cost-'))
      await sleep(params.settleSeconds * 1000)
      await fleet.all({ type: 'record' })
      const idle = await cpuRate(target.groups, params.windowSeconds)
      const { heartbeats } = await fleet.stats()
      if (heartbeats === 0) throw new Error(`${name}: no heartbeats in ${params.windowSeconds} s`)
      const server = target.groups[0]!.name
      const perHeartbeat = (rate: Record<string, number>, base: Record<string, number>) =>
        round((((rate[server] ?? 0) - (base[server] ?? 0)) * 1000 * params.windowSeconds) / heartbeats)
      return {
        target: name,
        connections: params.connections,
        heartbeatIntervalMs: params.heartbeatIntervalMs,
        empty,
        idle,
        heartbeatsPerSecond: round(heartbeats / params.windowSeconds),
        microsPerHeartbeat: perHeartbeat(idle.total, empty.total),
        kernelMicrosPerHeartbeat: perHeartbeat(idle.kernel, empty.kernel),
      }
    },
  )
}

async function cpuRate(groups: readonly ProcessGroup[], seconds: number): Promise<CpuRate> {
  const before = snapshot(groups)
  const started = performance.now()
  await sleep(seconds * 1000)
  const elapsed = (performance.now() - started) / 1000
  const after = snapshot(groups)
  const perSecond = (spent: Record<string, number>) =>
    Object.fromEntries(Object.entries(spent).map(([group, cpu]) => [group, round((cpu * 1000) / elapsed)]))
  return { total: perSecond(cpuBetween(before, after)), kernel: perSecond(cpuBetween(before, after, 'kernelSeconds')) }
}

const round = (value: number) => Math.round(value * 100) / 100

/** The runs side by side as a Markdown table. */
export function idleCostTable(results: readonly IdleCostResult[]): string {
  const groups = (rate: CpuRate) =>
    Object.entries(rate.total)
      .map(([group, ms]) => `${group} ${ms} (${rate.kernel[group]})`)
      .join(', ')
  return markdownTable(
    [
      'target',
      'idle streams',
      'heartbeat every',
      'CPU with no streams, ms/s (kernel)',
      'CPU with the idle streams, ms/s (kernel)',
      'heartbeats/s',
      'server CPU µs per heartbeat (kernel)',
    ],
    results.map((r) => [
      r.target,
      r.connections,
      `${r.heartbeatIntervalMs / 1000} s`,
      groups(r.empty),
      groups(r.idle),
      r.heartbeatsPerSecond,
      `${r.microsPerHeartbeat} (${r.kernelMicrosPerHeartbeat})`,
    ]),
  )
}
