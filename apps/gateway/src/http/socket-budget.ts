/**
 * The open-file budget of client sockets. Every accepted socket holds a descriptor, but only
 * one carrying a request (a stream, a publish in flight) is work: one that has sent no request
 * yet, whole (a slowloris sends its headers a byte at a time), or waits on keep-alive between
 * two, is idle. Past the budget a new socket closes the idle one that sent its last request (or
 * connected, if it sent none) longest ago, as nginx reclaims its waiting connections. With none
 * idle, it closes a stalled one, whose client does not read its answers (they back up past the
 * socket's buffer: a client pipelining requests it never reads held its socket busy for good),
 * else one whose request body is still to come (nothing of it has been acted on: a publish
 * stores only a whole body; 70 publishes that sent their head and never their body held a node
 * for the 60 to 90 s of the request timeout), or else is closed itself.
 *
 * Why: at the open-file limit, accept fails in the kernel and Node resets every newcomer, and
 * the process cannot open a socket of its own. A probe with 40 idle sockets on a node full of
 * streams got the liveness probe's connection reset (a restart in Kubernetes, every stream
 * dropped), and left Redis unreconnectable (EMFILE) for as long as they lasted. The budget stops
 * short of the limit by the descriptors the process needs for itself (open-file-limit.ts).
 *
 * A stream costs nothing here once it is live: no listener and no entry, since a listener more
 * on each socket came to 145 bytes of heap per stream (a listener array grown). So closed
 * sockets leave the candidates in a sweep, and whether one is idle is asked when it matters.
 */

import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** What closed a socket to stay within the budget: an idle, stalled or unfinished one, or the newcomer itself. */
export type BudgetClose = 'idle' | 'stalled' | 'unfinished' | 'newcomer'

/** How often closed sockets are swept from the candidates. */
const SWEEP_MS = 1000

export class SocketBudget {
  /**
   * Sockets that do not carry a live stream, least recently sent a request (or accepted) first:
   * the ones that may be idle. A Set iterates in insertion order.
   */
  readonly #candidates = new Set<Socket>()
  readonly #sweep: NodeJS.Timeout

  constructor(
    readonly capacity: number,
    /** Client sockets open now, the newcomer included (Node's count per server, summed). */
    private readonly openSockets: () => number,
    private readonly closedForBudget: (which: BudgetClose) => void,
  ) {
    this.#sweep = setInterval(() => {
      for (const socket of this.#candidates) if (socket.destroyed) this.#candidates.delete(socket)
    }, SWEEP_MS).unref()
  }

  /** A socket was accepted: past the budget, an idle socket or this one is closed. */
  readonly accepted = (socket: Socket): void => {
    // Closed sockets at the front leave now, each once: where connections keep coming, none
    // lingers until the sweep (a heap snapshot counted one such in a stream's share).
    for (const oldest of this.#candidates) {
      if (!oldest.destroyed) break
      this.#candidates.delete(oldest)
    }
    if (this.openSockets() > this.capacity) {
      const closed = this.#closeOne()
      this.closedForBudget(closed ?? 'newcomer')
      if (closed === undefined) {
        socket.destroy()
        return
      }
    }
    this.#candidates.add(socket)
  }

  /** A request arrived: its socket is now the most recently active. */
  requestArrived(socket: Socket): void {
    this.#candidates.delete(socket)
    this.#candidates.add(socket)
  }

  /** A stream went live on the socket: it holds it until it closes, never idle again. */
  streamOpened(socket: Socket): void {
    this.#candidates.delete(socket)
  }

  close(): void {
    clearInterval(this.#sweep)
  }

  /** Closes the idle socket least recently active, else a stalled one, else an unfinished one; what it closed, if any. */
  #closeOne(): BudgetClose | undefined {
    const busy: Socket[] = []
    let closed: BudgetClose | undefined
    for (const socket of this.#candidates) {
      this.#candidates.delete(socket)
      if (socket.destroyed) continue
      if (isIdle(socket)) {
        socket.destroy()
        closed = 'idle'
        break
      }
      busy.push(socket)
    }
    if (closed === undefined) {
      const stalled = busy.findIndex((socket) => socket.writableNeedDrain)
      const at = stalled >= 0 ? stalled : busy.findIndex(isUnfinished)
      if (at >= 0) {
        busy.splice(at, 1)[0]!.destroy()
        closed = stalled >= 0 ? 'stalled' : 'unfinished'
      }
    }
    // Busy with a request since the last one arrived (a body still coming in, an answer waiting
    // on Redis): active, so behind the rest.
    for (const socket of busy) this.#candidates.add(socket)
    return closed
  }
}

/**
 * No request in progress: Node sets the socket's `_httpMessage` to the response it is answering
 * (the first one, when requests are pipelined) once the request's head has arrived, and clears
 * it once the last answer is out.
 */
function isIdle(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: unknown })._httpMessage == null
}

/** A request whose body is still to come, and not answered yet. */
function isUnfinished(socket: Socket): boolean {
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  return response != null && !response.req.complete && !response.headersSent
}
