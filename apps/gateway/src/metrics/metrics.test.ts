import { describe, expect, it } from 'vitest'
import { Metrics } from './metrics.js'

describe('Metrics', () => {
  it('exports every refusal reason and resume outcome at 0 before the first one happens', async () => {
    const metrics = new Metrics(
      () => 0,
      () => true,
      100,
    )
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
    const metrics = new Metrics(
      () => 0,
      () => true,
      100,
    )
    metrics.connectionRejected('user_limit')
    metrics.connectionRejected('user_limit')
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/^herald_connections_rejected_total\{reason="user_limit"\} 2$/m)
    expect(text).toMatch(/^herald_connections_rejected_total\{reason="over_capacity"\} 0$/m)
  })
})
