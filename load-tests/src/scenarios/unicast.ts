/**
 * Unicast: one stream per user; per-user notifications at rising rates (through Redis with the
 * publisher SDK for Herald, over HTTP for the peers) until p99 degrades or the rate is not met.
 * Every user's sequence is checked at the end: loss, duplicates, order.
 */
import type { Verdict } from '../client/messages.js'
import { payload } from '../client/messages.js'
import { measureWindow, type WindowResult } from '../harness/measure.js'
import type { PacedSend } from '../harness/pacer.js'
import { deliveredAll } from '../report/run-verdict.js'
import type { PublishItem, Target, TargetName } from '../targets/index.js'
import { subscriptions, withSession } from './session.js'

export interface UnicastParams {
  readonly connections: number
  /** Write a V8 CPU profile of Node servers here (`--profile`). */
  readonly cpuProfileDir?: string | undefined
  readonly rates: readonly number[]
  readonly stepSeconds: number
  /** Stop rising once p99 exceeds this. */
  readonly stopAboveP99Ms: number
  /** Gateways behind nginx (Herald only). */
  readonly nodes?: number
}

export interface RateSeriesResult {
  readonly target: TargetName
  readonly connections: number
  readonly steps: WindowResult[]
  readonly verdict: Verdict
}

/**
 * Publishes to users `<prefix>0`…`<prefix><users-1>` in turn, each message carrying its user's
 * next sequence; `published` (which may be shared with other senders) counts what each user was
 * sent, for the verdict.
 */
export function unicastSender(
  target: Target,
  users: number,
  prefix = 'u',
  published: Record<string, number> = {},
): { published: Record<string, number>; send: PacedSend } {
  let cursor = 0
  const send: PacedSend = (count, dueAt) => {
    const items: PublishItem[] = []
    for (let i = 0; i < count; i++) {
      const user = `${prefix}${cursor++ % users}`
      const seq = published[user] ?? 0
      published[user] = seq + 1
      items.push({ channel: { user }, data: payload(seq, dueAt(i)) })
    }
    return target.publish(items)
  }
  return { published, send }
}

export function runUnicast(name: TargetName, params: UnicastParams): Promise<RateSeriesResult> {
  const timeoutMs = 120_000 + params.rates.length * (params.stepSeconds * 1000 + 30_000)
  return withSession(
    name,
    { connections: params.connections, nodes: params.nodes ?? 1, timeoutMs, cpuProfileDir: params.cpuProfileDir },
    async (session) => {
      const { target, fleet } = session
      const users = params.connections
      await session.open(await subscriptions(target, users, 'u'))
      const { published, send } = unicastSender(target, users)
      const steps: WindowResult[] = []
      for (const rate of params.rates) {
        const step = await measureWindow(target, fleet, {
          rate,
          durationMs: params.stepSeconds * 1000,
          fanout: 1,
          send,
        })
        steps.push(step)
        // A step whose messages did not all arrive (a server gone) says nothing of a higher rate.
        if (step.latencyMs.p99 > params.stopAboveP99Ms || step.achievedRate < rate * 0.9 || !deliveredAll(step, 1))
          break
      }
      return { target: name, connections: users, steps, verdict: await fleet.verify(published) }
    },
  )
}
