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
 * entries held behind a replay are bounded the same way: past it, they are
 * dropped and read from history, and a resume whose client has taken nothing
 * for a while by then is cut.
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
import { monotonicMs } from '../clock/monotonic-ms.js'
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
  /** Live entries held while a resume replays history; past it (or the bytes bound), they are dropped. */
  readonly maxQueuedWhileResuming: number
  /**
   * How long a resuming client may take nothing of what it was sent while live entries pile up
   * behind its replay, before it counts as a slow consumer: twice the heartbeat interval.
   */
  readonly stalledReplayMs: number
  /** Called once when a stream closes, whoever closed it: whoever opened it releases what it holds. */
  readonly onClose: (connection: SseConnection, reason: CloseReason) => void
  /**
   * Ends a stream still in setup as a shed one, `herald.unavailable` with a jittered `retry:`,
   * since the broker can no longer set it up: the route's own rule, so it counts and logs it.
   */
  readonly turnAway: (connection: SseConnection) => void
}

/**
 * What a stream just live after a replay may hold unsent while its client still takes what
 * it is sent: the kernel's buffer (4 MB on Linux) frees in steps of about half of it.
 */
function settlingBound(maxPendingBytes: number): number {
  return Math.max(4 * maxPendingBytes, 4 * 1024 * 1024)
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
  /** The bytes of the live entries in the queue. */
  #queuedBytes = 0
  /** Live entries were dropped from the queue: the replay must read on to the end of history. */
  #droppedWhileResuming = false
  /** Live after a replay: until when it is judged as a replay is (see #cutIfBehind); 0 once settled. */
  #settlingUntilMs = 0
  /** While settling: the kernel has refused the writer something. */
  #settlingBacklog = false
  /** The writer's sentBytes when last looked at, and when (monotonic): the client last took something then. */
  #sentWhenSeen = 0
  #tookAtMs = monotonicMs()
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
    this.#sentWhenSeen = this.#writer.sentBytes
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
      // Held past the bound (checked before holding one more, as a write is: one entry larger
      // than it is held), what waits is dropped: every entry of it is in history, which the
      // replay reads on to its end before going live (events-route.ts), so the client gets it
      // from there, or a reset where history lost it. Cutting the stream instead cut clients that
      // read faster than live entries came: a replay fills the kernel's buffer (4 MB), which
      // takes more only once it has sent about half, so a client reading 1 MB/s showed no
      // progress for 2 s at a time, and 800 kB/s of live entries passed a 1 MiB bound meanwhile
      // (cut 7 times in 20 s, never live, in a probe). A client that took nothing for
      // stalledReplayMs by then has stopped reading: it is cut.
      if (this.#queuedBytes > this.options.maxPendingBytes || queue.length >= this.options.maxQueuedWhileResuming) {
        if (this.#stalledFor() > this.options.stalledReplayMs) {
          this.close('slow_consumer')
          return false
        }
        queue.length = 0
        this.#queuedBytes = 0
        this.#droppedWhileResuming = true
      }
      queue.push({ slot, framed })
      this.#queuedBytes += framed.bodyByteLength
    }
    return false
  }

  /**
   * Whether live entries were dropped while the stream resumed, since last asked: then its replay
   * must read on from where it is to the end of history before it goes live.
   */
  takeDroppedWhileResuming(): boolean {
    const dropped = this.#droppedWhileResuming && this.#state === 'resuming'
    this.#droppedWhileResuming = false
    return dropped
  }

  /** How long the client has taken nothing of what it was sent, as far as the kernel shows. */
  #stalledFor(): number {
    const sent = this.#writer.sentBytes
    const now = monotonicMs()
    if (sent !== this.#sentWhenSeen) {
      this.#sentWhenSeen = sent
      this.#tookAtMs = now
    }
    return now - this.#tookAtMs
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
      // Drained: the client took something, seen now rather than at the next live entry.
      this.#stalledFor()
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

  /**
   * Ends the resume: flushes held live entries (duplicates drop out) and switches to live
   * delivery; `afterReplay` when it wrote history, which the kernel may still be sending.
   */
  goLive(afterReplay = false): number {
    if (this.#state !== 'resuming') return 0
    this.#state = 'live'
    if (afterReplay) this.#settlingUntilMs = monotonicMs() + this.options.stalledReplayMs
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
    const pending = this.#writer.pendingBytes
    if (this.#settlingUntilMs !== 0) {
      // Settled once the writer has emptied after the kernel refused it something: the kernel
      // then had room, and what the replay left in its buffer is going.
      if (pending > 0) this.#settlingBacklog = true
      else if (this.#settlingBacklog) this.#settlingUntilMs = 0
    }
    if (pending <= this.options.maxPendingBytes) return false
    // Just live after a replay, the kernel's buffer is still full of it, and takes more only
    // once it has sent about half (a few MB): live entries pile up here meanwhile, for a client
    // that reads faster than they come (cut right after going live in 5 of 5 runs at 1.15x the
    // live rate, in a probe). Until it settles, at most stalledReplayMs, such a stream is judged
    // as a replay is: cut if it took nothing for stalledReplayMs, or past a wider bound.
    if (
      this.#settlingUntilMs !== 0 &&
      monotonicMs() < this.#settlingUntilMs &&
      pending <= settlingBound(this.options.maxPendingBytes) &&
      this.#stalledFor() <= this.options.stalledReplayMs
    )
      return false
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
