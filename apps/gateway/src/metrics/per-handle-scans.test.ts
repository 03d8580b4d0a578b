import { closeSync, openSync } from 'node:fs'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { DROPPED_DEFAULT_METRICS, replacePerHandleScans } from './per-handle-scans.js'

/** A registry with prom-client's default metrics, the scans replaced. */
function registryWithDefaults(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  replacePerHandleScans(registry)
  return registry
}

const openFds = async (registry: Registry) =>
  Number(/^process_open_fds (\d+)$/m.exec(await registry.metrics())?.[1] ?? Number.NaN)

describe('replacePerHandleScans', () => {
  it('drops the default metrics that list every handle, and keeps the rest', async () => {
    const text = await registryWithDefaults().metrics()
    for (const name of DROPPED_DEFAULT_METRICS) expect(text).not.toMatch(new RegExp(`^# TYPE ${name} `, 'm'))
    expect(text).toMatch(/^# TYPE process_resident_memory_bytes gauge$/m)
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_p99_seconds gauge$/m)
    expect(text).toMatch(/^# TYPE process_max_fds gauge$/m)
  })

  it('counts the open file descriptors exactly, read without blocking the event loop', async () => {
    const registry = registryWithDefaults()
    const collect = registry.getSingleMetric('process_open_fds') as unknown as { collect: () => unknown }
    expect(collect.collect()).toBeInstanceOf(Promise)
    const before = await openFds(registry)
    const opened = Array.from({ length: 40 }, () => openSync('/dev/null', 'r'))
    try {
      expect(await openFds(registry)).toBe(before + 40)
    } finally {
      for (const fd of opened) closeSync(fd)
    }
    expect(await openFds(registry)).toBe(before)
  })
})
