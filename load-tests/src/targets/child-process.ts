/**
 * A server process the harness owns: spawned, awaited until its output matches a pattern or its
 * port accepts, and stopped with SIGTERM (SIGKILL after a grace period), so a failed scenario
 * never leaves it behind. A server that cannot be run, or exits before it is ready, fails the
 * start with its own words (its output), not a timeout.
 *
 * Each runs as a process group of its own, which the redis-harness watchdog kills if the harness
 * dies, even by SIGKILL: nginx's workers outlive a master killed so, and go on serving its port.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { trackPid, untilAccepting, untrackPid } from '@herald/redis-harness'

export interface OwnedProcess {
  readonly child: ChildProcess
  readonly pid: number
  output(): string
  stop(graceMs?: number): Promise<void>
}

/** SIGKILLs what is left of a process group whose leader has exited, and stops tracking it. */
function killRemnants(groupId: number): void {
  try {
    process.kill(-groupId, 'SIGKILL')
  } catch {
    // None left: a server stopped with SIGTERM takes its workers with it.
  }
  untrackPid(-groupId)
}

export async function startProcess(
  command: string,
  args: readonly string[],
  options: {
    env?: Record<string, string>
    /** Ready once the output matches, or once 127.0.0.1:port accepts (for a server that logs nothing then). */
    ready: RegExp | { readonly port: number }
    timeoutMs?: number
  },
): Promise<{ process: OwnedProcess; match: RegExpMatchArray }> {
  const child = spawn(command, args, {
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own group, so that the harness's end (its exit hook, or the watchdog) takes it whole.
    detached: true,
  })
  const groupId = child.pid
  if (groupId !== undefined) trackPid(-groupId)
  let output = ''
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      if (groupId !== undefined) killRemnants(groupId)
      resolve()
    }),
  )
  const handle: OwnedProcess = {
    child,
    pid: child.pid ?? -1,
    output: () => output,
    async stop(graceMs = 10_000) {
      // No pid: it never ran, and may never emit 'exit'.
      if (child.pid === undefined) return
      const running = child.exitCode === null && child.signalCode === null
      if (running) child.kill('SIGTERM')
      const timer = running ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined
      // Once the exit is handled, what was left of its group is gone too.
      await exited
      clearTimeout(timer)
    },
  }
  // Read the output whether or not a pattern is awaited: a pipe nobody reads fills at 64 KB,
  // and a server that logs would then block on its next write in the middle of a scenario.
  /** Set while the ready pattern is awaited. */
  let onOutput: (() => void) | undefined
  const onData = (chunk: Buffer) => {
    // Keep the output bounded: servers log for the whole scenario.
    output = (output + chunk.toString('utf8')).slice(-64_000)
    onOutput?.()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  /** Set while the start is awaited; later errors (a failed kill) join the output. */
  let onSpawnError: ((error: NodeJS.ErrnoException) => void) | undefined
  child.on('error', (error: NodeJS.ErrnoException) => {
    if (onSpawnError === undefined) output += `\n${error.message}`
    else onSpawnError(error)
  })
  const ready = options.ready
  const timeoutMs = options.timeoutMs ?? 30_000
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs} ms`), timeoutMs)
    const stopWaiting = new AbortController()
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited with ${code ?? signal} before it was ready`)
    // ENOENT and EACCES come as an event, not a throw: unheard, it would end the whole harness.
    onSpawnError = (error) =>
      fail(`could not be run (${error.code === 'ENOENT' ? 'not found on PATH; is it installed?' : error.message})`)
    let settled = false
    const settle = () => {
      settled = true
      onSpawnError = undefined
      clearTimeout(timer)
      stopWaiting.abort()
      onOutput = undefined
      child.off('exit', onExit)
    }
    const fail = (why: string) => {
      if (settled) return
      settle()
      void handle.stop(1000)
      reject(new Error(`${command} ${why}${output === '' ? '' : `; it said: ${output.slice(-2000).trim()}`}`))
    }
    child.once('exit', onExit)
    if (ready instanceof RegExp) {
      onOutput = () => {
        const found = ready.exec(output)
        if (found === null) return
        settle()
        resolve(found)
      }
    } else {
      untilAccepting(ready.port, timeoutMs, stopWaiting.signal).then(
        () => {
          settle()
          resolve([''] as unknown as RegExpMatchArray)
        },
        // Aborted: the exit, the spawn error or the timer has already said why.
        () => {},
      )
    }
  })
  return { process: handle, match }
}
