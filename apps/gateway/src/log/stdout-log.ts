/**
 * Standard output for the logs, which a reader that stalls or goes away cannot hold up: the
 * process still exits, on a crash as on a shutdown.
 *
 * Lines logged in one turn of the event loop go out together in one synchronous write. Node
 * opens a pipe or socket stdout non-blocking, so a full pipe answers EAGAIN at once instead
 * of blocking the loop:
 * - its reader gone (`herald | head -1`, EPIPE): that line and every later one are dropped;
 * - nobody reading it (EAGAIN): lines wait, and are retried until it is read again;
 * - at exit, clean or a crash: what still waits is written, for at most EXIT_WRITE_MS.
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
  /** What is left of the chunk being written, after a partial write or EAGAIN. */
  #chunk = Buffer.alloc(0)
  #scheduled = false
  #retry: NodeJS.Timeout | undefined
  #gone = false
  #waiting: Array<() => void> = []

  write(line: string): void {
    if (this.#gone) return
    this.#lines.push(line)
    holding.add(this)
    if (this.#scheduled || this.#retry !== undefined) return
    this.#scheduled = true
    setImmediate(() => this.#writeOut(0))
  }

  /** Resolves once every line written so far is out, stdout is gone, or `withinMs` has passed. */
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
        if (this.#lines.length === 0) {
          this.#settle()
          return
        }
        this.#chunk = Buffer.from(this.#lines.join(''))
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
          return
        }
        pause(10)
      }
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

/** Blocks for `ms`: at exit there is no event loop to wait on. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
