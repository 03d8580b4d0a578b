/**
 * Resume storm: every stream drops at once, each user gets messages while away, then every
 * client reconnects with its Last-Event-ID at the same moment. Done when every missed message
 * has arrived on every stream; loss and duplicates are counted exactly.
 */
import type { Verdict } from '../client/messages.js'
import { payload } from '../client/messages.js'
import { round } from '../harness/measure.js'
import { cpuBetween, snapshot } from '../harness/proc-sampler.js'
import type { PublishItem, TargetName } from '../targets/index.js'
import { subscriptions, withSession } from './session.js'

export interface ResumeParams {
  readonly connections: number
  /** Write a V8 CPU profile of Node servers here (`--profile`). */
  readonly cpuProfileDir?: string | undefined
  /** Messages each user gets while disconnected. */
  readonly missed: number
  readonly timeoutSeconds: number
}

export interface ResumeResult {
  readonly target: TargetName
  readonly connections: number
  /** From the reconnect of all streams until the last missed message arrived (or the timeout). */
  readonly seconds: number
  readonly completed: boolean
  readonly live: number
  readonly received: number
  readonly expected: number
  readonly shed: number
  readonly serverCpuSeconds: Record<string, number>
  readonly verdict: Verdict
}

export function runResume(name: TargetName, params: ResumeParams): Promise<ResumeResult> {
  const timeoutMs = 300_000 + params.timeoutSeconds * 1000
  return withSession(
    name,
    { connections: params.connections, timeoutMs, cpuProfileDir: params.cpuProfileDir },
    async (session) => {
      const { target, fleet } = session
      const users = params.connections
      await session.open(await subscriptions(target, users, 'r'))
      const published: Record<string, number> = {}
      const publishRound = async () => {
        for (let from = 0; from < users; from += 1000) {
          const items: PublishItem[] = []
          for (let u = from; u < Math.min(users, from + 1000); u++) {
            const user = `r${u}`
            const seq = published[user] ?? 0
            published[user] = seq + 1
            items.push({ channel: { user }, data: payload(seq) })
          }
          await target.publish(items)
        }
      }
      // One message first, so every client holds a real event id to resume from.
      await publishRound()
      await fleet.until((s) => s.received >= users, 30_000)
      await fleet.all({ type: 'drop' })
      for (let i = 0; i < params.missed; i++) await publishRound()
      await fleet.all({ type: 'record' })
      const expected = users * params.missed
      const before = snapshot(target.groups)
      const started = performance.now()
      await fleet.all({ type: 'reconnect', fraction: 1 })
      const stats = await fleet.until(
        (s) => s.received >= expected && s.live >= users,
        params.timeoutSeconds * 1000,
        50,
      )
      const seconds = round((performance.now() - started) / 1000)
      const cpu = cpuBetween(before, snapshot(target.groups))
      return {
        target: name,
        connections: users,
        seconds,
        completed: stats.received >= expected && stats.live >= users,
        live: stats.live,
        received: stats.received,
        expected,
        shed: stats.shed,
        serverCpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v)])),
        verdict: await fleet.verify(published),
      }
    },
  )
}
