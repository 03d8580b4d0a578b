/**
 * Standard output for the logs, which a reader that stalls or goes away cannot hold up: the
 * process still exits, on a crash as on a shutdown.
 *
 * Lines logged in one turn of the event loop go out together in one synchronous write. Node
 * opens a pipe or socket stdout non-blocking, so a full pipe answers EAGAIN at once instead
 * of blocking the loop:
 * - its reader gone (`herald | head -1`, EPIPE): that line and every later one are dropped;
 * - nobody reading it (EAGAIN): lines wait, and are retried until it is read again; past
 *   MAX_HELD_BYTES new lines are dropped instead, so a stalled log reader cannot exhaust the
 *   gateway's memory, and a warning says how many once stdout is read again;
 * - at exit, clean or a crash: what still waits is written, for at most EXIT_WRITE_MS; what
 *   is left then is counted on stderr, since stdout cannot take even that line.
 *
 * Not pino's asynchronous destination (sonic-boom): at exit it writes what it holds in a loop
 * that retries a failed write for ever, EPIPE and EAGAIN alike, so a crash with a line in hand
 * never ended, and Node never got to print the crash.
 */

import { writeSync } from 'node:fs'
import type { DestinationStream } from 'pino'

/** How long a full stdout is given before a waiting write is retried. */
const RETRY_MS = 20
/** The longest an exit waits on a full stdout before it drops what is left. */
export const EXIT_WRITE_MS = 1_000
/** The longest `written()` waits on a full stdout: a shutdown must end. */
export const WRITTEN_WAIT_MS = 2_000
/** The most a full stdout may hold back; lines past it are counted and dropped. */
export const MAX_HELD_BYTES = 16 * 1024 * 1024

/** Logs with lines still to write: written at exit, when the event loop is gone. */
const holding = new Set<StdoutLog>()
process.on('exit', () => {
  const deadline = Date.now() + EXIT_WRITE_MS
  for (const log of holding) log.writeBeforeExit(deadline)
})

export class StdoutLog implements DestinationStream {
  // Reading process.stdout is what has Node open a pipe stdout non-blocking.
  readonly #fd = process.stdout.fd
  /** Lines not written yet, oldest first. */
  #lines: string[] = []
  /** Characters in #lines and #chunk: an estimate of the bytes held back, kept cheap. */
  #held = 0
  /** Lines dropped since stdout last took everything. */
  #dropped = 0
  /** What is left of the chunk being written, after a partial write or EAGAIN. */
  #chunk = Buffer.alloc(0)
  #scheduled = false
  #retry: NodeJS.Timeout | undefined
  #gone = false
  #waiting: Array<() => void> = []
  readonly #maxHeldBytes: number

  constructor(maxHeldBytes = MAX_HELD_BYTES) {
    this.#maxHeldBytes = maxHeldBytes
  }

  write(line: string): void {
    if (this.#gone) return
    if (this.#held + line.length > this.#maxHeldBytes) {
      this.#dropped++
      return
    }
    this.#held += line.length
    this.#lines.push(line)
    holding.add(this)
    if (this.#scheduled || this.#retry !== undefined) return
    this.#scheduled = true
    setImmediate(() => this.#writeOut(0))
  }

  /**
   * Resolves once every line written so far is out, stdout is gone, or `withinMs` has passed.
   * Its timer is not unref'd: a shutdown that waits on it goes on to exit with its own code.
   */
  written(withinMs = WRITTEN_WAIT_MS): Promise<void> {
    if (!holding.has(this)) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, withinMs)
      this.#waiting.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /** Writes what is left, waiting on a full stdout until `deadline` (epoch ms) at most. */
  writeBeforeExit(deadline: number): void {
    clearTimeout(this.#retry)
    this.#writeOut(deadline)
  }

  /** Writes until done, stdout is gone, or it is full past `deadline`; then a retry is scheduled. */
  #writeOut(deadline: number): void {
    this.#scheduled = false
    this.#retry = undefined
    while (!this.#gone) {
      if (this.#chunk.length === 0) {
        this.#held = 0
        if (this.#dropped > 0) this.#lines.push(droppedLine(this.#dropped))
        this.#dropped = 0
        if (this.#lines.length === 0) {
          this.#settle()
          return
        }
        this.#chunk = Buffer.from(this.#lines.join(''))
        this.#held = this.#chunk.length
        this.#lines = []
      }
      try {
        this.#chunk = this.#chunk.subarray(writeSync(this.#fd, this.#chunk))
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code !== 'EAGAIN') {
          this.#drop()
          // Anything but EPIPE is not a reader that left but something broken: not swallowed,
          // except at exit, where a throw would only cover the exit's own cause.
          if (code !== 'EPIPE' && deadline === 0) throw error
          return
        }
        if (Date.now() >= deadline) {
          // Unref'd: a process that is otherwise done exits, and the exit hook has the last word.
          if (deadline === 0) this.#retry = setTimeout(() => this.#writeOut(0), RETRY_MS).unref()
          else this.#reportUnwritten()
          return
        }
        pause(10)
      }
    }
  }

  /**
   * At exit, past the deadline: says on stderr how many lines stdout never got. A line already
   * partly written counts too; its reader sees it cut off.
   */
  #reportUnwritten(): void {
    let count = this.#lines.length + this.#dropped
    for (let at = this.#chunk.indexOf(10); at >= 0; at = this.#chunk.indexOf(10, at + 1)) count++
    try {
      writeSync(2, `herald: stdout was not read at exit; ${count} log lines were not written\n`)
    } catch {
      // Stderr is as stuck or gone: there is nowhere left to say it.
    }
  }

  /** Stdout is gone (EPIPE): what is held, and every line after, is lost, and that is all. */
  #drop(): void {
    this.#gone = true
    this.#lines = []
    this.#chunk = Buffer.alloc(0)
    this.#settle()
  }

  #settle(): void {
    holding.delete(this)
    for (const resolve of this.#waiting.splice(0)) resolve()
  }
}

/** A pino-shaped warning (level 40) that `count` lines were dropped while stdout was full. */
function droppedLine(count: number): string {
  return `${JSON.stringify({ level: 40, time: Date.now(), service: 'herald-gateway', dropped: count, msg: 'log lines dropped: stdout was not read' })}\n`
}

/** Blocks for `ms`: at exit there is no event loop to wait on. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
