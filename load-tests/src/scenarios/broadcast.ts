/**
 * Broadcast: every stream on one topic, messages at rising rates; each message is one delivery
 * per stream. The topic's sequence is checked on every stream.
 */
import { payload } from '../client/messages.js'
import { measureWindow, type WindowResult } from '../harness/measure.js'
import type { PacedSend } from '../harness/pacer.js'
import { deliveredAll } from '../report/run-verdict.js'
import type { TargetName } from '../targets/index.js'
import { subscriptions, withSession } from './session.js'
import type { RateSeriesResult } from './unicast.js'

export interface BroadcastParams {
  readonly connections: number
  readonly rates: readonly number[]
  readonly stepSeconds: number
  /**
   * A step lasts long enough to publish about this many messages (one fewer, as the pacer sends
   * what is due strictly inside the window). At 1 msg/s a 5 s step held 4, and a server's CPU
   * per delivery then swung by a third between runs with them.
   */
  readonly minMessagesPerStep?: number
  readonly stopAboveP99Ms: number
  readonly cpuProfileDir?: string | undefined
}

const TOPIC = 'bench'

export function runBroadcast(name: TargetName, params: BroadcastParams): Promise<RateSeriesResult> {
  const stepMs = (rate: number) => Math.max(params.stepSeconds, (params.minMessagesPerStep ?? 0) / rate) * 1000
  const timeoutMs = 120_000 + params.rates.reduce((sum, rate) => sum + stepMs(rate) + 30_000, 0)
  const options = { connections: params.connections, timeoutMs, cpuProfileDir: params.cpuProfileDir }
  return withSession(name, options, async (session) => {
    const { target, fleet } = session
    await session.open(await subscriptions(target, params.connections, 'b', TOPIC))
    let seq = 0
    const send: PacedSend = async (count, dueAt) => {
      for (let i = 0; i < count; i++)
        await target.publish([{ channel: { topic: TOPIC }, data: payload(seq++, dueAt(i)) }])
    }
    const steps: WindowResult[] = []
    for (const rate of params.rates) {
      const plan = { rate, durationMs: stepMs(rate), fanout: params.connections, send, drainMs: 10_000 }
      const step = await measureWindow(target, fleet, plan)
      steps.push(step)
      if (step.latencyMs.p99 > params.stopAboveP99Ms || !deliveredAll(step, params.connections)) break
    }
    return { target: name, connections: params.connections, steps, verdict: await fleet.verify({ [TOPIC]: seq }) }
  })
}
