/**
 * One browser tab's SSE stream, written through an SseWriter straight to the
 * socket (no Web Streams: about 4x less CPU per event and no per-connection
 * stream objects). It keeps one position per channel and drops anything at or
 * before it, so replay, live delivery and catch-up can overlap safely.
 *
 * Live writes are never awaited: Node buffers them, and a connection that
 * still holds more than `maxPendingBytes` unsent when the next write comes is
 * too slow and is cut off. It resumes from its Last-Event-ID, so nothing is
 * lost, and one slow tab holds at most that bound plus one event. Checked
 * before a write, not after: one event larger than the bound is not a slow
 * consumer, and a resume holds what it replays until it releases it. Live
 * entries held behind a replay while the client takes nothing of what it
 * was sent count against the same bound: past it, the resume is cut too.
 */

import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import {
  type Channel,
  encodeResumeToken,
  formatStreamId,
  frameEvent,
  frameIdAndEnd,
  frameRetry,
  HEARTBEAT_FRAME,
  POSITION_EVENT,
  resumeComponent,
  type StreamId,
} from '@herald/protocol'
import type { Expiring } from './expiry-wheel.js'
import type { FramedEntry } from './framed-entry.js'
import type { Heartbeating } from './heartbeat-sweep.js'
import { frameChunk } from './http-chunk.js'
import { SseWriter } from './sse-writer.js'

const HEARTBEAT = Buffer.from(HEARTBEAT_FRAME)
const HEARTBEAT_CHUNK = frameChunk(HEARTBEAT)

export type ConnectionState = 'resuming' | 'live' | 'closed'
export type CloseReason =
  | 'client'
  | 'slow_consumer'
  | 'token_expired'
  | 'shutdown'
  | 'error'
  | 'history_gap'
  | 'broker_unavailable'
  /** Live delivery fell too far behind on this node (hub.ts, LIVE_BACKLOG_MAX_BYTES). */
  | 'node_behind'

/** One object shared by every stream a route opens, so a stream keeps no options or closures of its own. */
export interface SseConnectionOptions {
  readonly maxPendingBytes: number
  /** Live entries held while a resume replays history; more means the resume cannot keep up. */
  readonly maxQueuedWhileResuming: number
  /** Called once when a stream closes, whoever closed it: whoever opened it releases what it holds. */
  readonly onClose: (connection: SseConnection, reason: CloseReason) => void
  /**
   * Ends a stream still in setup as a shed one, `herald.unavailable` with a jittered `retry:`,
   * since the broker can no longer set it up: the route's own rule, so it counts and logs it.
   */
  readonly turnAway: (connection: SseConnection) => void
}

/** Where a response keeps its stream, so one shared close listener serves every stream. */
const STREAM = Symbol('herald.stream')
type StreamResponse = ServerResponse & { [STREAM]?: SseConnection }
/** A server socket, with the response it is serving (Node's own field). */
type StreamSocket = Socket & { _httpMessage?: StreamResponse | null }

export class SseConnection implements Heartbeating, Expiring {
  /**
   * The last position delivered per channel, as plain numbers: `ms` at 2 × slot, `seq` after
   * it. A delivery overwrites them in place, so a stream keeps no object per message. Holding
   * each message's position object (or id string) until the next one made every delivery's
   * leftovers outlive the young generation: at 20–30k deliveries/s that promoted about 4 MB/s
   * and stretched each scavenge to 3–13 ms.
   */
  readonly #positions: number[]
  /** `<tag>:<id>` per channel, kept only by a multi-channel stream to build its `id:` lines. */
  readonly #components: string[] | undefined
  #state: ConnectionState = 'resuming'
  /** Live entries held while resuming; gone once live (an idle stream holds no array). */
  #queue: Array<{ slot: number; framed: FramedEntry }> | undefined = []
  /**
   * The bytes of live entries held since the client last took any of what it was sent: held for
   * a client that does not read, they count against the slow-consumer bound.
   */
  #heldSinceClientRead = 0
  /** The writer's sentBytes when that count started. */
  #sentWhenHeld = 0
  /**
   * The writer's sentBytes when the stream began (a connection reused from earlier requests,
   * as nginx's upstream keep-alive does, has sent before): until it moves, nothing of this
   * stream has left, its head held while setup waits on Redis, so the client cannot be behind.
   */
  readonly #sentAtStart: number
  #closeReason: CloseReason = 'client'
  /** Held (corked) while resuming, from before the head is sent. */
  readonly #writer: SseWriter
  /** Whether anything was written since the heartbeat sweep last looked. */
  #wroteSinceSweep = false
  /** When the token-expiry wheel closes this stream; 0 while outside it. */
  expiryMs = 0

  /** Bytes written to this stream that the kernel has not taken yet, held in this node's memory. */
  get unsentBytes(): number {
    return this.#writer.pendingBytes
  }

  /** Takes over `response` once its status and headers are set, and sends them. */
  constructor(
    response: ServerResponse,
    readonly userId: string,
    readonly channels: readonly Channel[],
    private readonly options: SseConnectionOptions,
  ) {
    // Held from the start: everything written while resuming leaves together when the stream goes live.
    this.#writer = new SseWriter(response)
    this.#sentAtStart = this.#writer.sentBytes
    this.#sentWhenHeld = this.#sentAtStart
    this.#positions = new Array<number>(2 * channels.length).fill(0)
    this.#components = channels.length > 1 ? channels.map((c) => resumeComponent(c.tag, '0-0')) : undefined
    // One listener function for all streams instead of a closure each: 'close' comes once, and
    // `on` spares the once-wrapper each stream would keep too.
    ;(response as StreamResponse)[STREAM] = this
    response.on('close', SseConnection.#onResponseClose)
    // The server keeps a connection open after the client's FIN, so that a request sent before
    // it is still answered (server.ts); a stream has nothing more to answer, and a client that
    // closed sends a FIN too, so the stream ends with it rather than at its next failed write.
    // Found through the socket's response (`_httpMessage`, this one while the stream lasts),
    // and with `on` (the FIN comes once): a property and a once-wrapper on every socket came
    // to about 280 bytes of heap per stream.
    const socket = response.socket
    if (socket !== null) {
      if (socket.readableEnded) queueMicrotask(() => this.close('client'))
      else socket.on('end', SseConnection.#onSocketEnd)
    }
    // A request pipelined behind another is served only once its response has the socket
    // (http/pipelined-requests.ts), so a stream always has it: its 'close' reaches the response.
    // The client may have left while the request was being authenticated.
    if (response.destroyed) queueMicrotask(() => this.#closed())
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** The resume token for everything delivered so far. */
  resumeToken(): string {
    return this.#components === undefined
      ? resumeComponent(this.channels[0]!.tag, formatStreamId(this.positionAt(0)))
      : encodeResumeToken(this.#components)
  }

  /** The last position delivered from the channel in `slot`. */
  positionAt(slot: number): StreamId {
    return { ms: this.#positions[2 * slot]!, seq: this.#positions[2 * slot + 1]! }
  }

  /** Sets a channel's position without writing, as resume does before going live. */
  setPosition(slot: number, position: StreamId): void {
    this.#positions[2 * slot] = position.ms
    this.#positions[2 * slot + 1] = position.seq
    if (this.#components !== undefined)
      this.#components[slot] = resumeComponent(this.channels[slot]!.tag, formatStreamId(position))
  }

  /** Tells the client its position, after `setPosition` moved channels on without an entry (a quiet channel's tail). */
  announcePosition(): void {
    this.writeText(frameEvent(POSITION_EVENT, '{}', this.resumeToken()))
  }

  /** Writes protocol text outside the message path: the preamble, position and reset frames. */
  writeText(text: string): void {
    if (!this.#canWrite || this.#cutIfBehind()) return
    this.#writer.writeText(text)
    this.#wroteSinceSweep = true
  }

  /** A live entry from the hub. Held while resuming; dropped if already delivered. */
  deliver(slot: number, framed: FramedEntry): boolean {
    if (this.#state === 'live') return this.#send(slot, framed)
    const queue = this.#queue
    if (this.#state === 'resuming' && queue !== undefined) {
      // A replay waits for the client to take what it was sent: one that stops reading would
      // hold every live entry until a heartbeat found it behind, a heartbeat interval of them.
      // So more than the bound arriving while the client takes nothing is a slow consumer; a
      // client that reads holds what arrives during a long replay, whatever its total.
      // Before anything has left, a client that reads is judged on nothing it could have read:
      // counted then, a setup that waited on a slow Redis read while a busy channel went on cut
      // fast clients before their head, with no HTTP answer at all (found by a probe). What
      // waits then is bounded by maxQueuedWhileResuming entries, each shared with the channel's
      // other streams: the queue holds references, not copies.
      const sent = this.#writer.sentBytes
      if (sent !== this.#sentWhenHeld) {
        this.#sentWhenHeld = sent
        this.#heldSinceClientRead = 0
      }
      // Checked before holding one more, as a write is: one entry larger than the bound is held.
      if (this.#heldSinceClientRead > this.options.maxPendingBytes && sent !== this.#sentAtStart) {
        this.close('slow_consumer')
        return false
      }
      queue.push({ slot, framed })
      this.#heldSinceClientRead += framed.bodyByteLength
      if (queue.length > this.options.maxQueuedWhileResuming) this.close('slow_consumer')
    }
    return false
  }

  /** A replayed entry; resolves once the socket can take more, so replay follows the client's pace. */
  async replay(slot: number, framed: FramedEntry): Promise<void> {
    this.#send(slot, framed)
    if (this.#state !== 'closed' && this.#writer.needsDrain) {
      // A long replay goes out as the client takes it, not all at once.
      this.#writer.release()
      // The listener that loses the race goes too: one left per pause would pile up on the response.
      const settled = new AbortController()
      const { signal } = settled
      try {
        await Promise.race([
          once(this.#writer.drainEmitter, 'drain', { signal }),
          once(this.#writer.response, 'close', { signal }),
        ])
      } catch {
        // The socket failed (ECONNRESET, EPIPE): the client is gone. Its stream closes now, as it
        // would have once the socket's close came; raised, it read as a failed setup, logged as
        // one and counted as turned away.
        this.close('error')
      } finally {
        settled.abort()
      }
      if (this.#state === 'resuming') this.#writer.hold()
    } else if (this.#state !== 'closed' && this.#holdsTooMuch) {
      // A bound below the socket's mark: what is held goes to the kernel now, since held bytes
      // count against the bound as unsent ones do. A socket that takes it all needs no drain.
      this.#writer.release()
      if (this.#state === 'resuming') this.#writer.hold()
    }
  }

  /**
   * Holds a live stream's writes while a catch-up writes one turn's entries, so that what the
   * turn writes to it leaves in one `writev` (up to the socket's mark, past which it goes on
   * at once, as a replay's does). A catch-up writing an entry at a time spent about 9 µs a
   * socket write, two thirds of it in the kernel; batched, 5.5 (a probe of 2026-12-07). Says
   * whether it held them; the caller ends the batch within the same turn ({@link endBatch}).
   */
  startBatch(): boolean {
    if (this.#state !== 'live' || !this.#writer.writable) return false
    this.#writer.hold()
    return true
  }

  /** A catch-up's entry, written within a batch: what reaches the socket's mark goes out at once. */
  deliverInBatch(slot: number, framed: FramedEntry): boolean {
    const wrote = this.deliver(slot, framed)
    const writer = this.#writer
    if (wrote && writer.holding && this.#state === 'live' && (writer.atMark || this.#holdsTooMuch)) {
      writer.release()
      writer.hold()
    }
    return wrote
  }

  endBatch(): void {
    if (this.#state === 'live') this.#writer.release()
  }

  /** Ends the resume: flushes held live entries (duplicates drop out) and switches to live delivery. */
  goLive(): number {
    if (this.#state !== 'resuming') return 0
    this.#state = 'live'
    const queued = this.#queue ?? []
    this.#queue = undefined
    let delivered = 0
    for (const { slot, framed } of queued) {
      if (this.#send(slot, framed)) delivered++
      // Past the socket's mark or the bound, held bytes would count as a slow client's do.
      if (this.#writer.needsDrain || this.#holdsTooMuch) this.#writer.release()
    }
    this.#writer.release()
    return delivered
  }

  /** A stream that carries events needs no heartbeat; a quiet one gets one so proxies keep it open. */
  heartbeatIfQuiet(): void {
    if (this.#wroteSinceSweep) {
      this.#wroteSinceSweep = false
      return
    }
    if (!this.#canWrite || this.#cutIfBehind()) return
    this.#writer.writeFramed(HEARTBEAT, HEARTBEAT_CHUNK)
    this.#wroteSinceSweep = true
  }

  /** Ends a stream in setup as a shed one (`herald.unavailable`), by its route's rule. */
  turnAway(): void {
    this.options.turnAway(this)
  }

  /** Ends the stream after a `retry:` hint, so the client comes back after `retryMs`. */
  closeWithRetry(reason: CloseReason, retryMs: number): void {
    this.writeText(`${frameRetry(retryMs)}\n`)
    this.close(reason)
  }

  close(reason: CloseReason): void {
    if (this.#state === 'closed') return
    this.#closeReason = reason
    if (reason === 'slow_consumer' || reason === 'error') this.#writer.destroy()
    else {
      this.#writer.release()
      this.#writer.end()
    }
    this.#closed()
  }

  #send(slot: number, framed: FramedEntry): boolean {
    if (!this.#canWrite) return false
    const { ms, seq } = framed.position
    const positions = this.#positions
    const lastMs = positions[2 * slot]!
    // Anything at or before what this stream already has is a duplicate (replay, catch-up).
    if (ms < lastMs || (ms === lastMs && seq <= positions[2 * slot + 1]!)) return false
    if (this.#cutIfBehind()) return false
    positions[2 * slot] = ms
    positions[2 * slot + 1] = seq
    this.#wroteSinceSweep = true
    // One socket write per event: the write, not the framing, is what a delivery costs.
    const components = this.#components
    if (components === undefined) {
      this.#writer.writeFramed(framed.singleChannelFrame, framed.singleChannelChunk)
    } else {
      components[slot] = framed.component
      const idLine = frameIdAndEnd(encodeResumeToken(components))
      this.#writer.writeWithId(framed.bodyText, framed.bodyByteLength, idLine)
    }
    return true
  }

  /** Whether as much is held as the slow-consumer bound allows (a bound below the socket's mark). */
  get #holdsTooMuch(): boolean {
    return this.#writer.pendingBytes >= this.options.maxPendingBytes
  }

  get #canWrite(): boolean {
    return this.#state !== 'closed' && this.#writer.writable
  }

  /** Closes a consumer that has not taken what it was sent before (see the header); true if it did. */
  #cutIfBehind(): boolean {
    if (this.#writer.pendingBytes <= this.options.maxPendingBytes) return false
    this.close('slow_consumer')
    return true
  }

  static #onResponseClose(this: StreamResponse): void {
    // biome-ignore lint/complexity/noThisInStatic: an event listener's `this` is its emitter, the response.
    const stream = this[STREAM]
    if (stream !== undefined) stream.#closed()
  }

  static #onSocketEnd(this: StreamSocket): void {
    // biome-ignore lint/complexity/noThisInStatic: an event listener's `this` is its emitter, the socket.
    this._httpMessage?.[STREAM]?.close('client')
  }

  #closed(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#queue = undefined
    this.options.onClose(this, this.#closeReason)
  }
}
