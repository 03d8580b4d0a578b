/**
 * Soak (Herald): mixed unicast and broadcast load with connection churn (a share of streams drops
 * and resumes with Last-Event-ID every few seconds) for `minutes`. Samples the gateway's RSS from
 * /proc and its V8 heap from /metrics; the verdict needs a flat trend over the second half and
 * exact delivery (0 loss, 0 duplicates).
 */
import type { Verdict } from '../client/messages.js'
import { payload } from '../client/messages.js'
import { round } from '../harness/measure.js'
import { type PacedSend, pace } from '../harness/pacer.js'
import { snapshot } from '../harness/proc-sampler.js'
import { fittedGrowth, lowerEnvelope } from '../harness/trend.js'
import type { PublishItem, V8Memory } from '../targets/index.js'
import { sleep, subscriptions, withSession } from './session.js'
import { unicastSender } from './unicast.js'

export interface SoakParams {
  readonly minutes: number
  readonly connections: number
  /** Unicast messages per second over the unicast half of the streams. */
  readonly unicastRate: number
  /** Broadcast messages per second to the topic half. */
  readonly broadcastRate: number
  /** Share of streams that drop and resume at each churn. */
  readonly churnFraction: number
  readonly churnEverySeconds: number
  readonly sampleEverySeconds: number
}

/**
 * A trend passes when the fitted growth of its floor (running minimum over a minute) over the
 * second half stays within this share of its mean, or 2 MB.
 */
export const SOAK_TOLERANCE = { share: 0.05, bytes: 2 * 2 ** 20 }

export interface SoakResult {
  readonly target: 'herald'
  readonly minutes: number
  readonly samples: Array<{ seconds: number; rssBytes: number; live: number } & V8Memory>
  /** Fitted growth over the second half, in bytes. */
  readonly rssGrowthBytes: number
  readonly heapGrowthBytes: number
  readonly deliveries: number
  readonly reconnects: number
  readonly verdict: Verdict
  readonly passed: boolean
}

const TOPIC = 'soak'

export function runSoak(params: SoakParams): Promise<SoakResult> {
  const durationMs = params.minutes * 60_000
  return withSession(
    'herald',
    { connections: params.connections, timeoutMs: durationMs + 300_000 },
    async (session) => {
      const { target, fleet } = session
      const half = Math.floor(params.connections / 2)
      await session.open([
        ...(await subscriptions(target, half, 's')),
        ...(await subscriptions(target, params.connections - half, 'sb', TOPIC)),
      ])
      const published: Record<string, number> = { [TOPIC]: 0 }
      const { send: unicast } = unicastSender(target, half, 's', published)
      const broadcast: PacedSend = (count, dueAt) => {
        const items: PublishItem[] = []
        for (let i = 0; i < count; i++)
          items.push({ channel: { topic: TOPIC }, data: payload(published[TOPIC]!++, dueAt(i)) })
        return target.publish(items)
      }
      const samples: SoakResult['samples'] = []
      const started = performance.now()
      let running = true
      const load = Promise.all([
        pace(params.unicastRate, durationMs, unicast),
        pace(params.broadcastRate, durationMs, broadcast, 1),
      ])
      void load.finally(() => {
        running = false
      })
      let nextChurn = params.churnEverySeconds
      while (running) {
        await sleep(params.sampleEverySeconds * 1000)
        const seconds = (performance.now() - started) / 1000
        const stats = await fleet.stats()
        const rssBytes = snapshot(target.groups)['gateway']!.rssBytes
        samples.push({
          seconds: round(seconds, 1),
          rssBytes,
          ...(await target.v8Memory!()),
          live: stats.live,
        })
        if (seconds >= nextChurn && running) {
          nextChurn += params.churnEverySeconds
          await fleet.all({ type: 'reconnect', fraction: params.churnFraction })
        }
      }
      await load
      const expected = Object.entries(published).reduce(
        (sum, [key, n]) => sum + (key === TOPIC ? n * (params.connections - half) : n),
        0,
      )
      const stats = await fleet.until((s) => s.received >= expected && s.live >= params.connections, 30_000)
      // Both series are judged on their floor (running minimum over a minute of samples), then fitted over the second half.
      const floorWindow = Math.max(1, Math.round(60 / params.sampleEverySeconds))
      const halfway = (durationMs / 1000) * 0.5
      const judge = (pick: (s: SoakResult['samples'][number]) => number) => {
        const floor = lowerEnvelope(samples.map(pick), floorWindow)
        const grown = Math.round(
          fittedGrowth(
            floor.map((y, i) => [samples[i]!.seconds, y] as const),
            halfway,
          ),
        )
        const tail = floor.filter((_, i) => samples[i]!.seconds >= halfway)
        const mean = tail.reduce((sum, y) => sum + y, 0) / Math.max(1, tail.length)
        return { grown, ok: grown <= Math.max(SOAK_TOLERANCE.bytes, mean * SOAK_TOLERANCE.share) }
      }
      const rss = judge((s) => s.rssBytes)
      const heap = judge((s) => s.heapUsedBytes)
      const verdict = await fleet.verify(published)
      return {
        target: 'herald',
        minutes: params.minutes,
        samples,
        rssGrowthBytes: rss.grown,
        heapGrowthBytes: heap.grown,
        deliveries: stats.received,
        reconnects: stats.reconnects,
        verdict,
        passed: rss.ok && heap.ok && verdict.lost === 0 && verdict.duplicates === 0,
      }
    },
  )
}
