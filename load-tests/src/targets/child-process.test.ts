import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { freePort, pollUntil } from '@herald/redis-harness'
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

  it('leaves no process of a server behind, its workers included, when the harness is killed with SIGKILL', async () => {
    // A harness (the built one, as the command line runs) starting a server that, like nginx,
    // forks a worker into its own group and would leave it running if only its pid were killed.
    const childProcess = new URL('../../dist/src/targets/child-process.js', import.meta.url).href
    const server = `const { spawn } = require('node:child_process');
      const worker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      console.log('pids', process.pid, worker.pid);`
    const harness = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { startProcess } = await import(${JSON.stringify(childProcess)});
         await startProcess(process.execPath, ['-e', ${JSON.stringify(server)}], { ready: /pids \\d+ \\d+/ })
           .then(({ match }) => console.log(match[0]));
         setInterval(() => {}, 1000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      let said = ''
      harness.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        said += chunk
      })
      const [, serverPid, workerPid] = (await pollUntil(
        'the server and its worker',
        async () => /pids (\d+) (\d+)/.exec(said) ?? undefined,
      )) as RegExpExecArray
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0)
          return true
        } catch {
          return false
        }
      }
      expect([alive(Number(serverPid)), alive(Number(workerPid))]).toEqual([true, true])
      harness.kill('SIGKILL')
      await once(harness, 'exit')
      await pollUntil('the server and its worker to be gone', async () =>
        alive(Number(serverPid)) || alive(Number(workerPid)) ? undefined : true,
      )
    } finally {
      harness.kill('SIGKILL')
    }
  })
})
