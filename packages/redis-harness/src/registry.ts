/**
 * Every redis process and temp dir the harness creates, so that none outlives the test process
 * even when a test forgets to stop it. On a normal exit we clean up at once; the hook must be
 * synchronous, as Node runs no more async work on 'exit', so we SIGKILL by pid and remove dirs
 * with the sync API. Deaths that skip 'exit' (signals, terminated worker threads) are left to the
 * watchdog process, which hears about every pid and dir too.
 */
import { rmSync } from 'node:fs'
import { tellWatchdog } from './watchdog.js'

const pids = new Set<number>()
const dirs = new Set<string>()
let hooked = false

function killEverything(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Already gone: nothing to clean up.
    }
  }
  pids.clear()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', killEverything)
}

/**
 * Kills `pid` when this process exits, however it exits (SIGKILL included, through the
 * watchdog). A negative pid names a process group, as in kill(2): a server with workers (nginx)
 * started as its own group leaves none of them behind when its master dies first.
 */
export function trackPid(pid: number): void {
  hookExit()
  pids.add(pid)
  tellWatchdog('+', 'p', pid)
}

export function untrackPid(pid: number): void {
  pids.delete(pid)
  tellWatchdog('-', 'p', pid)
}

export function trackDir(dir: string): void {
  hookExit()
  if (!dirs.has(dir)) tellWatchdog('+', 'd', dir)
  dirs.add(dir)
}

export function untrackDir(dir: string): void {
  if (dirs.delete(dir)) tellWatchdog('-', 'd', dir)
}
