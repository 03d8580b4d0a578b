/**
 * Where the unicast tail builds: Herald's unicast steps, each with the clients' publish→receive
 * percentiles beside the gateway's own `herald_delivery_latency_seconds` (from the XADD's time in
 * Redis to the write) and its garbage collections (`nodejs_gc_duration_seconds`), both read from
 * its `/metrics` before and after the step. What the clients see beyond what the gateway saw was
 * added by the publisher, Redis's queue or the clients themselves. A diagnostic: it prints, and
 * writes no result file.
 */
import { measureWindow } from '../harness/measure.js'
import { type HistogramRead, histogramBetween, readHistogram, shareAbove } from '../harness/prometheus-text.js'
import { markdownTable } from '../report/markdown-table.js'
import { subscriptions, withSession } from './session.js'
import { unicastSender } from './unicast.js'

export interface UnicastTailParams {
  readonly connections: number
  readonly rates: readonly number[]
  readonly stepSeconds: number
}

export interface UnicastTailRow {
  readonly rate: number
  readonly deliveries: number
  readonly clientP50Ms: number
  readonly clientP99Ms: number
  /** Deliveries the gateway's histogram counted in the step: all of them, or it misses some. */
  readonly gatewayCounted: number
  /** Shares (%) of the gateway's deliveries written more than 5, 10 and 25 ms after the XADD. */
  readonly gatewayOver5Ms: number
  readonly gatewayOver10Ms: number
  readonly gatewayOver25Ms: number
  /** Collections in the step, how long they took in all, and how many took over 10 ms. */
  readonly gcCount: number
  readonly gcMs: number
  readonly gcOver10Ms: number
}

const DELIVERY = 'herald_delivery_latency_seconds'
const GC = 'nodejs_gc_duration_seconds'

export function runUnicastTail(params: UnicastTailParams): Promise<UnicastTailRow[]> {
  const timeoutMs = 120_000 + params.rates.length * (params.stepSeconds * 1000 + 30_000)
  return withSession('herald', { connections: params.connections, timeoutMs }, async (session) => {
    const { target, fleet } = session
    await session.open(await subscriptions(target, params.connections, 'u'))
    const { send } = unicastSender(target, params.connections)
    const scrape = async () => (await fetch(`http://${target.host}:${target.port}/metrics`)).text()
    const rows: UnicastTailRow[] = []
    for (const rate of params.rates) {
      const before = await scrape()
      const step = await measureWindow(target, fleet, { rate, durationMs: params.stepSeconds * 1000, fanout: 1, send })
      const after = await scrape()
      const between = (name: string) => histogramBetween(readHistogram(before, name), readHistogram(after, name))
      const delivery = between(DELIVERY)
      const gc = between(GC)
      const percent = (read: HistogramRead, bound: number) => Math.round(shareAbove(read, bound) * 10_000) / 100
      rows.push({
        rate,
        deliveries: step.deliveries,
        clientP50Ms: step.latencyMs.p50,
        clientP99Ms: step.latencyMs.p99,
        gatewayCounted: delivery.count,
        gatewayOver5Ms: percent(delivery, 0.005),
        gatewayOver10Ms: percent(delivery, 0.01),
        gatewayOver25Ms: percent(delivery, 0.025),
        gcCount: gc.count,
        gcMs: Math.round(gc.sum * 1000),
        gcOver10Ms: Math.round(gc.count - (gc.buckets.get(0.01) ?? 0)),
      })
    }
    return rows
  })
}

export function unicastTailTable(rows: readonly UnicastTailRow[]): string {
  return markdownTable(
    [
      'msg/s',
      'deliveries',
      'clients p50 / p99 ms',
      'gateway: over 5 / 10 / 25 ms after XADD',
      'gateway GCs (ms in all, over 10 ms)',
    ],
    rows.map((r) => [
      r.rate,
      r.deliveries,
      `${r.clientP50Ms} / ${r.clientP99Ms}`,
      `${r.gatewayOver5Ms} / ${r.gatewayOver10Ms} / ${r.gatewayOver25Ms} %`,
      `${r.gcCount} (${r.gcMs}, ${r.gcOver10Ms})`,
    ]),
  )
}
