import { createServer } from 'node:net'
import { freePort } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import { startProcess } from './child-process.js'

describe('startProcess', () => {
  it('fails with a clear error, not a crash, for a command that is not installed', async () => {
    await expect(startProcess('herald-no-such-server', [], { ready: /ready/, timeoutMs: 5_000 })).rejects.toThrow(
      'herald-no-such-server could not be run (not found on PATH; is it installed?)',
    )
  })

  it('fails at once with what a server said when it exits before its port accepts', async () => {
    const port = await freePort()
    const failure = startProcess(
      process.execPath,
      ['-e', 'console.error("REDIS_URL is not a redis:// URL"); process.exit(78)'],
      { ready: { port }, timeoutMs: 20_000 },
    )
    await expect(failure).rejects.toThrow(
      /exited with 78 before it was ready; it said: REDIS_URL is not a redis:\/\/ URL/,
    )
  })

  it('is ready once the port accepts, and stop() ends the process', async () => {
    const port = await freePort()
    const { process: server } = await startProcess(
      process.execPath,
      ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1')`],
      { ready: { port } },
    )
    const probe = createServer()
    // The port is held by the started server.
    await expect(
      new Promise((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', () => resolve('free'))),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await server.stop()
    expect(server.child.exitCode !== null || server.child.signalCode !== null).toBe(true)
  })
})
