/**
 * One measurement window: publish at a rate for a while, wait for the deliveries, and turn the
 * /proc samples and the workers' histograms into per-delivery costs and latency percentiles.
 */
import type { Target } from '../targets/target.js'
import type { LoadFleet } from './fleet.js'
import { type LatencySummary, summarise } from './histogram.js'
import { type PacedSend, pace } from './pacer.js'
import { cpuBetween, type ProcessGroup, snapshot } from './proc-sampler.js'

export interface WindowResult {
  /** Messages per second asked for, and published. */
  readonly rate: number
  readonly achievedRate: number
  /** Messages published (and accepted) in the window, and deliveries received for them. */
  readonly published: number
  readonly deliveries: number
  readonly deliveriesPerSecond: number
  readonly publishErrors: number
  /** CPU µs per delivery of each server group (and `client` for the load workers). */
  readonly cpuMicrosPerDelivery: Record<string, number>
  /** The kernel's part (stime) of `cpuMicrosPerDelivery`. Absent from results recorded before it was. */
  readonly kernelMicrosPerDelivery?: Record<string, number>
  /** Share of one core each group used during the window. */
  readonly cpuCores: Record<string, number>
  readonly latencyMs: LatencySummary
}

export interface WindowPlan {
  readonly rate: number
  readonly durationMs: number
  /** Deliveries each published message makes (connections for broadcast, 1 for unicast). */
  readonly fanout: number
  /** Publishes the next `count` messages. */
  send: PacedSend
  /** How long deliveries may trail the last publish. */
  readonly drainMs?: number
}

/** The target's processes, then the load side: the workers (`client`) and this process, which publishes (`publisher`). */
export function groupsWithClient(target: Target, fleet: LoadFleet): ProcessGroup[] {
  return [
    ...target.groups,
    { name: 'client', pids: () => fleet.pids },
    { name: 'publisher', pids: () => [process.pid] },
  ]
}

export async function measureWindow(target: Target, fleet: LoadFleet, plan: WindowPlan): Promise<WindowResult> {
  const groups = groupsWithClient(target, fleet)
  await fleet.all({ type: 'record' })
  const before = snapshot(groups)
  const started = performance.now()
  const published = await pace(plan.rate, plan.durationMs, plan.send)
  const expected = (published.sent - published.errors) * plan.fanout
  const stats = await fleet.until((s) => s.received >= expected, plan.drainMs ?? 5_000, 20)
  const seconds = (performance.now() - started) / 1000
  const after = snapshot(groups)
  const cpu = cpuBetween(before, after)
  const kernel = cpuBetween(before, after, 'kernelSeconds')
  const perDelivery = (spent: number) => (stats.received === 0 ? 0 : round((spent * 1e6) / stats.received))
  const cpuMicrosPerDelivery: Record<string, number> = {}
  const kernelMicrosPerDelivery: Record<string, number> = {}
  const cpuCores: Record<string, number> = {}
  for (const [name, spent] of Object.entries(cpu)) {
    cpuMicrosPerDelivery[name] = perDelivery(spent)
    kernelMicrosPerDelivery[name] = perDelivery(kernel[name] ?? 0)
    cpuCores[name] = round(spent / seconds)
  }
  return {
    rate: plan.rate,
    achievedRate: Math.round(published.sent / published.seconds),
    published: published.sent - published.errors,
    deliveries: stats.received,
    deliveriesPerSecond: Math.round(stats.received / seconds),
    publishErrors: published.errors,
    cpuMicrosPerDelivery,
    kernelMicrosPerDelivery,
    cpuCores,
    latencyMs: summarise(stats.latency),
  }
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
