import { describe, expect, it } from 'vitest'
import { monotonicMs } from '../clock/monotonic-ms.js'
import { type MetricSources, Metrics } from './metrics.js'

/** Metrics of a node with no stream open. */
function idleMetrics(sources: Partial<MetricSources> = {}): Metrics {
  return new Metrics({
    currentConnections: () => 0,
    currentChannels: () => 0,
    currentUnsentBytes: () => 0,
    currentLiveBacklogAgeMs: () => 0,
    brokerUp: () => true,
    maxConnections: 100,
    ...sources,
  })
}

describe('Metrics', () => {
  it('exports every refusal reason and resume outcome at 0 before the first one happens', async () => {
    const metrics = idleMetrics()
    const text = await metrics.registry.metrics()
    const series = (name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`))
    expect(series('herald_connections_rejected_total').sort()).toEqual(
      [
        'auth',
        'bad_request',
        'broker_unavailable',
        'draining',
        'forbidden',
        'internal',
        'keys_unavailable',
        'over_capacity',
        'rate_limited',
        'user_limit',
      ].map((reason) => `herald_connections_rejected_total{reason="${reason}"} 0`),
    )
    expect(series('herald_resumes_total').sort()).toEqual([
      'herald_resumes_total{outcome="exact"} 0',
      'herald_resumes_total{outcome="reset"} 0',
    ])
  })

  it('counts a refusal on its own reason only', async () => {
    const metrics = idleMetrics()
    metrics.connectionRejected('user_limit')
    metrics.connectionRejected('user_limit')
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/^herald_connections_rejected_total\{reason="user_limit"\} 2$/m)
    expect(text).toMatch(/^herald_connections_rejected_total\{reason="over_capacity"\} 0$/m)
  })

  it('reads the open connections, the channels they listen to and their unsent bytes at each scrape', async () => {
    let [connections, channels, unsent] = [3, 2, 70_000]
    const metrics = idleMetrics({
      currentConnections: () => connections,
      currentChannels: () => channels,
      currentUnsentBytes: () => unsent,
    })
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/^herald_connections 3$/m)
    expect(text).toMatch(/^herald_channels 2$/m)
    expect(text).toMatch(/^herald_unsent_bytes 70000$/m)
    ;[connections, channels, unsent] = [0, 0, 0]
    const after = await metrics.registry.metrics()
    expect(after).toMatch(/^herald_channels 0$/m)
    expect(after).toMatch(/^herald_unsent_bytes 0$/m)
  })

  it("reads the key set's age from the node's start until a fetch, then from each usable fetch; 0 without a JWKS", async () => {
    const ageOf = async (metrics: Metrics) =>
      Number(/^herald_key_set_age_seconds (\S+)$/m.exec(await metrics.registry.metrics())?.[1])
    const startedAtMs = Date.now()
    const metrics = idleMetrics({ keysFromJwks: true })
    // Never fetched: as old as the node, so an issuer down since the start shows too.
    expect(await ageOf(metrics)).toBeGreaterThanOrEqual(0)
    expect(await ageOf(metrics)).toBeLessThanOrEqual((Date.now() - startedAtMs) / 1000)
    metrics.keySetFetched(monotonicMs() - 90_000)
    metrics.keySetFetchFailed()
    metrics.keySetFetchFailed()
    expect(await ageOf(metrics)).toBeGreaterThanOrEqual(90)
    expect(await ageOf(metrics)).toBeLessThan(100)
    expect(await metrics.registry.metrics()).toMatch(/^herald_key_set_fetch_failures_total 2$/m)
    metrics.keySetFetched(Date.now())
    expect(await ageOf(metrics)).toBeLessThan(10)
    expect(await ageOf(idleMetrics())).toBe(0)
  })

  it('tells a late delivery and a slow probe apart from ones just over a second', async () => {
    const metrics = idleMetrics()
    metrics.recordDelivery(1, Date.now() - 8_000)
    metrics.pubsubProbe(4)
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/^herald_delivery_latency_seconds_bucket\{le="5"\} 0$/m)
    expect(text).toMatch(/^herald_delivery_latency_seconds_bucket\{le="10"\} 1$/m)
    expect(text).toMatch(/^herald_pubsub_probe_latency_seconds_bucket\{le="2.5"\} 0$/m)
    expect(text).toMatch(/^herald_pubsub_probe_latency_seconds_bucket\{le="5"\} 1$/m)
  })
})
