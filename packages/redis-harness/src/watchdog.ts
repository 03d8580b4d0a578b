/**
 * A tiny detached Node process that outlives us just long enough to clean up. We keep a pipe to
 * its stdin and tell it about every pid and temp dir; when the pipe closes, because this process
 * exited, was killed by any signal (even SIGKILL), or the vitest worker thread owning the pipe was
 * terminated, it SIGKILLs the pids and removes the dirs. In-process exit hooks alone cannot cover
 * those cases: vitest ends forked workers with SIGTERM and terminates worker threads without 'exit'.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Socket } from 'node:net'

/** Runs in the watchdog. Lines: `+p <pid>`, `-p <pid>`, `+d <dir>`, `-d <dir>`. */
const WATCHDOG_SOURCE = `
const { rmSync } = require('node:fs')
const pids = new Set()
const dirs = new Set()
let pending = ''
const cleanUp = () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  for (const dir of dirs) { try { rmSync(dir, { recursive: true, force: true }) } catch {} }
  process.exit(0)
}
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  pending += chunk
  let end
  while ((end = pending.indexOf('\\n')) >= 0) {
    const line = pending.slice(0, end)
    pending = pending.slice(end + 1)
    const set = line[1] === 'p' ? pids : dirs
    const value = line[1] === 'p' ? Number(line.slice(3)) : line.slice(3)
    if (line[0] === '+') set.add(value)
    else set.delete(value)
  }
})
process.stdin.on('end', cleanUp)
process.stdin.on('error', cleanUp)
`

let watchdog: ChildProcess | undefined

function ensureWatchdog(): ChildProcess {
  if (watchdog) return watchdog
  // Detached into its own process group, so a Ctrl-C aimed at the test run does not kill it first.
  const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  child.on('error', () => {})
  child.stdin?.on('error', () => {})
  // Neither the watchdog nor its pipe may keep this process alive.
  child.unref()
  if (child.stdin instanceof Socket) child.stdin.unref()
  watchdog = child
  return child
}

/** Tell the watchdog to add (`+`) or forget (`-`) a pid or a dir. */
export function tellWatchdog(change: '+' | '-', kind: 'p' | 'd', value: number | string): void {
  ensureWatchdog().stdin?.write(`${change}${kind} ${value}\n`)
}
