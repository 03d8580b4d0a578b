/**
 * The bytes of one SSE response, after its headers. Once the headers are on
 * the wire, events go straight to the socket as HTTP/1.1 chunks framed here:
 * a chunked `ServerResponse.write` costs four socket writes and a corked
 * flush on the next tick per event, and a fan-out makes one per connection.
 * Framing the chunk ourselves lets a broadcast hand the same prebuilt Buffer
 * to every socket.
 *
 * The response stays in charge of everything else: `end()` writes the final
 * zero-length chunk, and a response that has no socket of its own yet (a
 * pipelined request waiting its turn) or is not chunked (an HTTP/1.0 client)
 * is written through the response as usual.
 */

import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { CRLF, chunkHeader } from './http-chunk.js'

/** How long an ended response may take to reach its client before its socket is destroyed. */
export const END_GRACE_MS = 5_000

export class SseWriter {
  /** Set when events go straight to the socket as self-framed chunks. */
  readonly #socket: Socket | undefined
  #holding = false

  /**
   * Starts held (see {@link hold}): the head, the preamble and whatever a resume replays leave
   * in one `writev` at the first {@link release}, not the head in a write of its own. On
   * loopback every write also runs the client's receive path and wakes it; in a resume storm
   * the head's own write was the largest item in the gateway's profile.
   */
  constructor(readonly response: ServerResponse) {
    this.hold()
    response.flushHeaders()
    const socket = response.socket
    this.#socket =
      socket !== null && response.chunkedEncoding && response.headersSent && !response.writableEnded
        ? socket
        : undefined
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get pendingBytes(): number {
    // Events go straight to the socket, so the response holds nothing of its own to add.
    return this.#socket?.writableLength ?? this.response.writableLength
  }

  /**
   * Bytes the kernel has taken so far: it moves whenever the client reads, well before a drain
   * (which waits until all that is buffered is gone). `bytesWritten` counts the buffered bytes
   * too, and `writableLength` those and the write in flight.
   */
  get sentBytes(): number {
    const socket = this.#socket ?? this.response.socket
    return socket === null ? 0 : socket.bytesWritten - socket.writableLength
  }

  get needsDrain(): boolean {
    return this.#socket?.writableNeedDrain ?? this.response.writableNeedDrain
  }

  /** The emitter whose `drain` says the socket takes more. */
  get drainEmitter(): NodeJS.EventEmitter {
    return this.#socket ?? this.response
  }

  /**
   * Whether bytes can still go out. A client that reset its connection is destroyed a tick
   * before its stream hears of it, and one that closed it (a FIN) leaves the socket ending,
   * not yet destroyed, for a round trip more. A write in either state builds an error and
   * formats its stack trace (ERR_STREAM_DESTROYED, ERR_STREAM_WRITE_AFTER_END), which in a storm
   * of departures fanning out to thousands of gone sockets adds up, and is no delivery.
   */
  get writable(): boolean {
    const response = this.response
    if (response.writableEnded) return false
    const socket = this.#socket ?? response.socket
    return socket === null ? !response.destroyed : socket.writable
  }

  /** Protocol text: rare, so it is framed on the spot. */
  writeText(text: string): void {
    if (this.#socket === undefined) this.response.write(text)
    else this.#socket.write(chunkHeader(Buffer.byteLength(text)) + text + CRLF)
  }

  /**
   * A whole event: `chunk` is `payload` already framed as one chunk, so a
   * fan-out frames once and every socket gets the same bytes.
   */
  writeFramed(payload: Buffer | string, chunk: Buffer | string): void {
    if (this.#socket === undefined) this.response.write(payload)
    else this.#socket.write(chunk)
  }

  /** An event whose body is shared and whose id line is this connection's own (ASCII). */
  writeWithId(body: string, bodyByteLength: number, idLine: string): void {
    if (this.#socket === undefined) this.response.write(body + idLine)
    else this.#socket.write(chunkHeader(bodyByteLength + idLine.length) + body + idLine + CRLF)
  }

  /**
   * Holds writes in memory until {@link release}, so a resume's replayed entries and its
   * `herald.ready` leave in one `writev` instead of one write each. Holding twice is holding
   * once, and releasing what is not held does nothing. A response corks its socket, if it has
   * one, so the socket's own cork count is what {@link release} undoes either way.
   */
  hold(): void {
    if (this.#holding) return
    this.#holding = true
    ;(this.#socket ?? this.response).cork()
  }

  /**
   * Whether what is buffered has reached the socket's mark. `needsDrain` would not do for a
   * batch: set at the mark, it stays set until the `drain` a tick after the kernel took it all,
   * so every write after a batch's first flush went out on its own.
   */
  get atMark(): boolean {
    const target = this.#socket ?? this.response
    return target.writableLength >= target.writableHighWaterMark
  }

  /** Whether writes are held (see {@link hold}). */
  get holding(): boolean {
    return this.#holding
  }

  release(): void {
    if (!this.#holding) return
    this.#holding = false
    ;(this.#socket ?? this.response).uncork()
  }

  /**
   * Ends the response. One that cannot finish, because its client reads nothing and the socket
   * is full, is destroyed after `graceMs`: its stream has already given back its slot, and
   * Node has no write timeout, so the socket and its unsent bytes would stay for good.
   */
  end(graceMs = END_GRACE_MS): void {
    const response = this.response
    response.end()
    if (response.writableFinished) return
    // A response pipelined behind another has no socket yet: its grace starts with its turn,
    // since destroying it now would destroy the shared socket once that turn came.
    const armGrace = () => {
      const timer = setTimeout(() => abort(response), graceMs).unref()
      response.once('close', () => clearTimeout(timer))
      response.once('finish', () => clearTimeout(timer))
    }
    if (response.socket === null) response.once('socket', armGrace)
    else armGrace()
  }

  /** Ends the response at once, whatever it still holds (a slow consumer, an error). */
  destroy(): void {
    abort(this.response)
  }
}

/**
 * Closes a response's connection with a reset, not a FIN. A FIN waits behind the unsent bytes
 * in the kernel, and a client that stopped reading but still acknowledges (a frozen tab, a
 * stalled proxy: the very clients cut) held the socket and its ~4 MB for as long as it stayed:
 * 300 cut streams kept 1.17 GB of kernel memory, and the host's TCP memory under pressure (a
 * probe of 2026-12-06). Its client resumes from Last-Event-ID either way.
 */
function abort(response: ServerResponse): void {
  const socket = response.socket
  // One pipelined behind another answer has no socket of its own yet, and nothing was sent.
  if (socket === null || socket.destroyed) response.destroy()
  else socket.resetAndDestroy()
}
