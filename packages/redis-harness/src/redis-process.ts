/**
 * One spawned redis-server (or redis-sentinel) process: start it, wait until its log says it is
 * serving, and wait for it to exit. Redis logs to stdout when it has no logfile, so readiness is an
 * event we can await instead of a sleep. The process keeps the Node event loop alive only while
 * someone awaits it, so a forgotten server cannot stop a test run from exiting (the exit hook in
 * ./registry.js then kills it).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Socket } from 'node:net'
import { trackPid, untrackPid } from './registry.js'

const LOG_LINES_KEPT = 200
const DEFAULT_READY_TIMEOUT_MS = 15_000

/** The port (or cluster bus port) was taken between picking it and binding it; retry with another. */
export class PortInUseError extends Error {}

export interface SpawnOptions {
  /** Used in error messages, e.g. `redis 127.0.0.1:6390`. */
  readonly label: string
  readonly args: readonly string[]
  /** A command redis-server runs under, with its flags (valgrind, say); it must exec redis-server in its own process. */
  readonly wrapper?: readonly string[]
  readonly cwd: string
  /** A log line that means the process is serving. */
  readonly ready: RegExp
  readonly readyTimeoutMs?: number
}

export interface RedisProcess {
  readonly pid: number
  /** Whether the process has not exited yet. */
  running(): boolean
  /** Send a signal and resolve once the process has exited. */
  signal(signal: NodeJS.Signals): Promise<void>
  /** Resolves once the process has exited. */
  exited(): Promise<void>
  /** The most recent log lines, for error messages. */
  logTail(lines?: number): string
}

/** Spawn redis-server with `args`; resolves once a log line matches `ready`, rejects if it exits first. */
export async function spawnRedis(options: SpawnOptions): Promise<RedisProcess> {
  const [file = 'redis-server', ...prefix] = options.wrapper ?? []
  const args = options.wrapper?.length ? [...prefix, 'redis-server', ...options.args] : options.args
  const child = spawn(file, [...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  const log: string[] = []
  const lineWaiters = new Set<(line: string) => void>()
  let exitInfo: string | undefined
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal === null ? `exit code ${code}` : `signal ${signal}`
      if (child.pid !== undefined) untrackPid(child.pid)
      resolve()
    })
  })
  // 'close' comes after 'exit' once stdout and stderr are drained, so the log holds the last words.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const spawnFailure = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot spawn ${file} for ${options.label}: ${error.message}`)))
  })
  spawnFailure.catch(() => {})
  if (child.pid !== undefined) trackPid(child.pid)

  for (const stream of [child.stdout, child.stderr]) {
    let carry = ''
    stream?.setEncoding('utf8')
    stream?.on('data', (chunk: string) => {
      const parts = (carry + chunk).split('\n')
      carry = parts.pop() ?? ''
      for (const line of parts) {
        log.push(line)
        if (log.length > LOG_LINES_KEPT) log.shift()
        for (const waiter of lineWaiters) waiter(line)
      }
    })
  }

  const logTail = (lines = 20): string => log.slice(-lines).join('\n')
  const holds = keepAlive(child)

  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  let timer: NodeJS.Timeout | undefined
  let onLine: ((line: string) => void) | undefined
  const release = holds.hold()
  try {
    await Promise.race([
      spawnFailure,
      new Promise<void>((resolve) => {
        onLine = (line) => {
          if (options.ready.test(line)) resolve()
        }
        lineWaiters.add(onLine)
        if (log.some((line) => options.ready.test(line))) resolve()
      }),
      closed.then(() => {
        const tail = logTail()
        const message = `${options.label} exited (${exitInfo}) before it was ready:\n${tail}`
        throw /Address already in use/.test(tail) ? new PortInUseError(message) : new Error(message)
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`${options.label} not ready after ${timeoutMs} ms:\n${logTail()}`))
        }, timeoutMs)
      }),
    ])
  } finally {
    clearTimeout(timer)
    if (onLine) lineWaiters.delete(onLine)
    release()
  }

  const pid = child.pid!
  return {
    pid,
    running: () => exitInfo === undefined,
    exited: async () => {
      const releaseExit = holds.hold()
      try {
        await exitPromise
      } finally {
        releaseExit()
      }
    },
    signal: async (signal) => {
      if (exitInfo !== undefined) return
      const releaseSignal = holds.hold()
      try {
        child.kill(signal)
        await exitPromise
      } finally {
        releaseSignal()
      }
    },
    logTail,
  }
}

/** Reference-count who is waiting on the child; only then may it keep the event loop alive. */
function keepAlive(child: ChildProcess): { hold(): () => void } {
  const handles: Array<ChildProcess | Socket> = [child]
  for (const stream of [child.stdout, child.stderr]) if (stream instanceof Socket) handles.push(stream)
  let holders = 0
  const update = (): void => {
    for (const handle of handles) {
      if (holders > 0) handle.ref()
      else handle.unref()
    }
  }
  update()
  return {
    hold() {
      holders += 1
      update()
      let released = false
      return () => {
        if (released) return
        released = true
        holders -= 1
        update()
      }
    },
  }
}
