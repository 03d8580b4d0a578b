/**
 * Idle capacity: open streams in steps up to the target count and record the server's RSS at
 * each step, giving RSS per connection and memory against connections.
 */
import { snapshot } from '../harness/proc-sampler.js'
import type { TargetName } from '../targets/index.js'
import { sleep, subscriptions, withSession } from './session.js'

export interface IdleParams {
  readonly connections: number
  readonly steps: number
}

export interface IdleResult {
  readonly target: TargetName
  readonly connections: number
  readonly points: Array<{ connections: number; rssBytes: Record<string, number>; heapUsedBytes?: number }>
  /** Growth of the first (server) group's RSS over the baseline, per stream. */
  readonly rssBytesPerConnection: number
}

export function runIdle(name: TargetName, params: IdleParams): Promise<IdleResult> {
  return withSession(name, { connections: params.connections, timeoutMs: 300_000 }, async ({ target, open }) => {
    const server = target.groups[0]!.name
    const points: IdleResult['points'] = []
    const sample = async (connections: number) => {
      await sleep(1_000)
      const snap = snapshot(target.groups)
      const rssBytes = Object.fromEntries(Object.entries(snap).map(([group, s]) => [group, s.rssBytes]))
      const heap = await target.heapUsedBytes?.()
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
    return { target: name, connections: opened, points, rssBytesPerConnection: Math.round((last - first) / opened) }
  })
}
