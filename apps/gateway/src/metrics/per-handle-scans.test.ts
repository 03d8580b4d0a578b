import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
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

interface CountedFds {
  collectReturnsPromise: boolean
  before: number
  withForty: number
  afterClosing: number
}

/** The built module with the default metrics, counting before, with 40 more, and after closing them. */
const COUNT_FDS = `
  import { closeSync, openSync } from 'node:fs'
  import { collectDefaultMetrics, Registry } from 'prom-client'
  import { replacePerHandleScans } from ${JSON.stringify(new URL('../../dist/metrics/per-handle-scans.js', import.meta.url).href)}
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  replacePerHandleScans(registry)
  const openFds = async () => Number(/^process_open_fds (\\d+)$/m.exec(await registry.metrics())?.[1] ?? Number.NaN)
  const collectReturnsPromise = registry.getSingleMetric('process_open_fds').collect() instanceof Promise
  const before = await openFds()
  const opened = Array.from({ length: 40 }, () => openSync('/dev/null', 'r'))
  const withForty = await openFds()
  for (const fd of opened) closeSync(fd)
  const afterClosing = await openFds()
  process.stdout.write(JSON.stringify({ collectReturnsPromise, before, withForty, afterClosing }))
`

/** Runs an ES module script in a fresh Node.js process beside this package, returning its stdout. */
async function runInOwnProcess(script: string): Promise<string> {
  const cwd = fileURLToPath(new URL('../..', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd })
  return stdout
}

describe('replacePerHandleScans', () => {
  it('drops the default metrics that list every handle, and keeps the rest', async () => {
    const text = await registryWithDefaults().metrics()
    for (const name of DROPPED_DEFAULT_METRICS) expect(text).not.toMatch(new RegExp(`^# TYPE ${name} `, 'm'))
    expect(text).toMatch(/^# TYPE process_resident_memory_bytes gauge$/m)
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_p99_seconds gauge$/m)
    expect(text).toMatch(/^# TYPE process_max_fds gauge$/m)
  })

  it('counts the open file descriptors exactly, read without blocking the event loop', async () => {
    // In a process of its own: Vitest's worker opens and closes descriptors of its own while
    // a test awaits (one closed between two reads here once, in CI), and so would a count of it.
    const counted = JSON.parse(await runInOwnProcess(COUNT_FDS)) as CountedFds
    expect(counted.collectReturnsPromise).toBe(true)
    expect(counted.withForty).toBe(counted.before + 40)
    expect(counted.afterClosing).toBe(counted.before)
  })
})
