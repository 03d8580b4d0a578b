/**
 * Idle capacity: open streams in steps up to the target count and record the server's RSS at
 * each step, giving RSS per connection and memory against connections.
 *
 * Each step lets the server settle before its RSS is read. A Node server's heap after a burst of
 * connects still holds the burst's garbage (token checks, request parsing), and V8 collects it
 * only once the process has been quiet for about 8 s (its memory reducer). In one pair of runs
 * on 2026-11-22, read 1 s after each burst, Herald came out at 11.0 KB per stream and the bare
 * node:http floor at 9.6; read 12 s after, at 8.3 and 7.4. Nchan has no such garbage.
 */
import { snapshot } from '../harness/proc-sampler.js'
import { slope } from '../harness/trend.js'
import type { TargetName } from '../targets/index.js'
import { sleep, subscriptions, withSession } from './session.js'

export interface IdleParams {
  readonly connections: number
  /** Write a V8 CPU profile of Node servers here (`--profile`). */
  readonly cpuProfileDir?: string | undefined
  readonly steps: number
  /** How long each step waits, after its streams are open, before reading RSS. */
  readonly settleMs: number
}

export interface IdleResult {
  readonly target: TargetName
  readonly connections: number
  readonly points: Array<{ connections: number; rssBytes: Record<string, number>; heapUsedBytes?: number }>
  /**
   * The server group's RSS per stream: the slope fitted over the steps after the first, so one-off
   * costs of the first connections (lazily loaded code, pools) do not count as per-stream memory.
   */
  readonly rssBytesPerConnection: number
  /** (RSS at the end − RSS before any stream) ÷ streams: the per-stream figure including those one-off costs. */
  readonly rssBytesPerConnectionOverall: number
}

export function runIdle(name: TargetName, params: IdleParams): Promise<IdleResult> {
  return withSession(
    name,
    { connections: params.connections, timeoutMs: 300_000, cpuProfileDir: params.cpuProfileDir },
    async ({ target, open }) => {
      const server = target.groups[0]!.name
      const points: IdleResult['points'] = []
      const sample = async (connections: number) => {
        await sleep(params.settleMs)
        const snap = snapshot(target.groups)
        const rssBytes = Object.fromEntries(Object.entries(snap).map(([group, s]) => [group, s.rssBytes]))
        const heap = (await target.v8Memory?.())?.heapUsedBytes
        points.push({ connections, rssBytes, ...(heap === undefined ? {} : { heapUsedBytes: heap }) })
      }
      await sample(0)
      const all = await subscriptions(target, params.connections, 'idle-')
      let opened = 0
      for (let step = 1; step <= params.steps; step++) {
        const upTo = Math.round((params.connections * step) / params.steps)
        await open(all.slice(opened, upTo))
        opened = upTo
        await sample(opened)
      }
      const first = points[0]!.rssBytes[server]!
      const last = points.at(-1)!.rssBytes[server]!
      const overall = (last - first) / opened
      const loaded = points.slice(1).map((p) => [p.connections, p.rssBytes[server]!] as const)
      return {
        target: name,
        connections: opened,
        points,
        rssBytesPerConnection: Math.round(loaded.length >= 2 ? slope(loaded) : overall),
        rssBytesPerConnectionOverall: Math.round(overall),
      }
    },
  )
}
