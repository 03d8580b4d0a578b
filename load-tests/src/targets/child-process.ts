/**
 * A server process the harness owns: spawned, awaited until its output matches a pattern, and
 * stopped with SIGTERM (SIGKILL after a grace period), so a failed scenario never leaves it behind.
 */
import { type ChildProcess, spawn } from 'node:child_process'

export interface OwnedProcess {
  readonly child: ChildProcess
  readonly pid: number
  output(): string
  stop(graceMs?: number): Promise<void>
}

const owned = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of owned) child.kill('SIGKILL')
})

export async function startProcess(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; ready: RegExp | 'at-once'; timeoutMs?: number },
): Promise<{ process: OwnedProcess; match: RegExpMatchArray }> {
  const child = spawn(command, args, {
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  owned.add(child)
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const handle: OwnedProcess = {
    child,
    pid: child.pid ?? -1,
    output: () => output,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      owned.delete(child)
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
  const ready = options.ready
  if (ready === 'at-once') return { process: handle, match: [''] as unknown as RegExpMatchArray }
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`did not start within ${options.timeoutMs ?? 30_000} ms`),
      options.timeoutMs ?? 30_000,
    )
    const onExit = (code: number | null) => fail(`exited with ${code}`)
    const settle = () => {
      clearTimeout(timer)
      onOutput = undefined
      child.off('exit', onExit)
    }
    const fail = (why: string) => {
      settle()
      void handle.stop(1000)
      reject(new Error(`${command} ${why}: ${output.slice(-2000)}`))
    }
    onOutput = () => {
      const found = ready.exec(output)
      if (found === null) return
      settle()
      resolve(found)
    }
    child.once('exit', onExit)
  })
  return { process: handle, match }
}
