/**
 * A closed publisher lets its process exit: nothing it opened, not even a failed connection's
 * leftovers, keeps Node's event loop alive once `close()` has resolved.
 */

import { execFile } from 'node:child_process'
import { startRedisSentinel } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'

const PUBLISHER = new URL('../dist/index.js', import.meta.url).href

/** Exit code of a process still alive this long after close() (an unref'd timer fires only then). */
const HELD = 3
const HELD_AFTER_MS = 1_500

/** Publishes once (to nothing), closes, and exits 0 if nothing holds the process, HELD if something does. */
function publishAndClose(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `
    import { HeraldPublisher } from ${JSON.stringify(PUBLISHER)}
    const publisher = new HeraldPublisher({ redis: ${JSON.stringify(url)} })
    const failed = await publisher.publish({ user: 'a' }, undefined, 1).then(() => 'published', (error) => error.code)
    console.log(failed)
    await publisher.close()
    setTimeout(() => process.exit(${HELD}), ${HELD_AFTER_MS}).unref()
  `
  return new Promise((resolve) => {
    // Killed after a while, so a process that never exits fails the test instead of hanging it.
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
    })
  })
}

describe('a closed publisher', () => {
  it.each([
    'redis://127.0.0.1:1',
    'redis+sentinel://127.0.0.1:1/mymaster',
    'redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster',
  ])('lets the process exit after failing to reach %s', async (url) => {
    const result = await publishAndClose(url)
    expect(result.stdout.trim()).toBe('HERALD_ERR_REDIS')
    expect(result.code, result.stderr).toBe(0)
  })

  it('lets the process exit after publishing through healthy Sentinels', async () => {
    // The failover detector's connections to the Sentinels outlive a QUIT to the master.
    const setup = await startRedisSentinel()
    try {
      const result = await publishAndClose(setup.url)
      expect(result.stdout.trim()).toBe('published')
      expect(result.code, result.stderr).toBe(0)
    } finally {
      await setup.stop()
    }
  })

  it('publishes through the Sentinels that answer, saying nothing of one that does not', async () => {
    // The failover detector connects to every Sentinel listed: a dead one's refusals had no
    // listener, and ioredis printed "Unhandled error event" with a stack on every publish.
    const setup = await startRedisSentinel()
    try {
      const result = await publishAndClose(setup.url.replace('redis+sentinel://', 'redis+sentinel://127.0.0.1:1,'))
      expect(result.stdout.trim()).toBe('published')
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toBe('')
    } finally {
      await setup.stop()
    }
  })

  it('lets the process exit after failing to reach the master the Sentinels name', async () => {
    // Real Sentinels with both data servers gone: they go on naming the old master, which refuses.
    const setup = await startRedisSentinel()
    try {
      for (const server of setup.servers) await server.kill()
      const result = await publishAndClose(setup.url)
      expect(result.stdout.trim()).toBe('HERALD_ERR_REDIS')
      expect(result.code, result.stderr).toBe(0)
    } finally {
      await setup.stop()
    }
  })
})
