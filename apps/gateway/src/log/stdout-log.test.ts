/**
 * StdoutLog in a process of its own (the built module, as `node dist/main.js` runs it), whose
 * stdout is read, gone, or full: whichever, a crash or a shutdown ends the process.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { withTimeout } from '../../test/harness.js'

const LOGGER = new URL('../../dist/log/logger.js', import.meta.url).href

/** Far beyond a pipe's buffer (64 KiB on Linux) and what the parent reads ahead, so a pipe nobody reads fills. */
const FILL = 'const line = "x".repeat(1000); for (let i = 0; i < 2000; i++) log.info({ i, line }, "filler")'

/** Runs `body` with `log`, a pino logger on StdoutLog; `go()` resolves when the parent writes to stdin. */
function spawnLogging(body: string, maxHeldBytes?: number): ChildProcess {
  const script = `
    import { createLogger, StdoutLog } from ${JSON.stringify(LOGGER)}
    const stdoutLog = new StdoutLog(${maxHeldBytes ?? ''})
    const log = createLogger('info', stdoutLog)
    const go = () => new Promise((resolve) => process.stdin.once('data', resolve))
    ${body}
  `
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] })
}

function collect(stream: NodeJS.ReadableStream): () => string {
  let text = ''
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  return () => text
}

/** The exit code, failing (not hanging) the test when the process does not end on its own. */
async function exitCode(child: ChildProcess, stderr: () => string): Promise<number | null> {
  const [code] = (await withTimeout(once(child, 'exit'), 15_000, () => `the child to exit; stderr: ${stderr()}`)) as [
    number | null,
  ]
  return code
}

/** The count of lines the exit says on stderr it could not write to stdout. */
function unwrittenAtExit(stderr: string): number {
  const match = /stdout was not read at exit; (\d+) log lines were not written/.exec(stderr)
  return match ? Number(match[1]) : 0
}

describe('StdoutLog, in a process of its own', () => {
  let child: ChildProcess | undefined
  afterEach(() => {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    child = undefined
  })

  it('writes the lines logged just before a crash, and the crash ends the process', async () => {
    child = spawnLogging(`
      for (let i = 0; i < 3; i++) log.error({ i }, 'about to crash')
      throw new Error('boom')
    `)
    const stdout = collect(child.stdout!)
    const stderr = collect(child.stderr!)
    expect(await exitCode(child, stderr)).toBe(1)
    expect(
      stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).i),
    ).toEqual([0, 1, 2])
    expect(stderr()).toContain('boom')
  })

  it('ends a crash after the reader of stdout has gone, with lines still to write (EPIPE)', async () => {
    child = spawnLogging(`
      log.info('first')
      await go()
      for (let i = 0; i < 5; i++) log.error({ i }, 'about to crash')
      throw new Error('boom')
    `)
    const stderr = collect(child.stderr!)
    const stdout = child.stdout!
    await once(stdout, 'data')
    stdout.destroy()
    child.stdin!.write('go')
    expect(await exitCode(child, stderr)).toBe(1)
    expect(stderr()).toContain('boom')
  })

  it('ends a crash while nobody reads stdout and its pipe is full (EAGAIN)', async () => {
    child = spawnLogging(`
      ${FILL}
      throw new Error('boom')
    `)
    const stderr = collect(child.stderr!)
    child.stdout!.pause()
    expect(await exitCode(child, stderr)).toBe(1)
    expect(stderr()).toContain('boom')
    expect(unwrittenAtExit(stderr())).toBeGreaterThan(0)
  })

  it('ends a shutdown that waits for the logs while nobody reads stdout (EAGAIN)', async () => {
    child = spawnLogging(`
      ${FILL}
      await stdoutLog.written()
      process.exit(0)
    `)
    const stderr = collect(child.stderr!)
    // Collected from the start but paused: the pipe fills, and nothing read ahead is lost.
    const stdout = collect(child.stdout!)
    child.stdout!.pause()
    expect(await exitCode(child, stderr)).toBe(0)
    child.stdout!.resume()
    await once(child.stdout!, 'end')
    // Every line is accounted for: read whole from the pipe, or counted on stderr as not written.
    const whole = stdout()
      .split('\n')
      .filter((line) => line.startsWith('{') && line.endsWith('}'))
    expect(whole.map((line) => JSON.parse(line).i)).toEqual([...whole.keys()])
    expect(whole.length + unwrittenAtExit(stderr())).toBe(2000)
  })

  it('holds at most its limit while nobody reads stdout, and says how many lines it dropped', async () => {
    child = spawnLogging(
      `
      ${FILL}
      await go()
      await stdoutLog.written()
      process.exit(0)
    `,
      256 * 1024,
    )
    const stderr = collect(child.stderr!)
    child.stdout!.pause()
    // Everything is logged (and most of it held back or dropped) before stdout is read.
    child.stdin!.write('go')
    const stdout = collect(child.stdout!)
    child.stdout!.resume()
    expect(await exitCode(child, stderr)).toBe(0)
    const lines = stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    const fillers = lines.filter((line) => line.msg === 'filler')
    const dropped = lines.filter((line) => line.msg === 'log lines dropped: stdout was not read')
    expect(dropped).toHaveLength(1)
    expect(dropped[0].level).toBe(40)
    // Every line is accounted for: written, in order, or counted as dropped.
    expect(fillers.length + dropped[0].dropped).toBe(2000)
    expect(fillers.map((line) => line.i)).toEqual([...fillers.keys()])
    expect(fillers.length).toBeLessThan(2000)
  })
})
