/**
 * One SSE stream held by a load worker, on a raw socket from one of the worker's 127.0.x.y
 * source addresses and a port the worker names (source-endpoints.ts).
 * It checks the `s` sequence of every message in its stream (loss, duplicates, order), records
 * publish→receive latency from the `t` in the payload, and reconnects after the server's `retry`
 * with Last-Event-ID when the server closes or sheds it, as a browser's EventSource does.
 */
import net from 'node:net'
import type { Histogram } from '../harness/histogram.js'
import { now, type Subscription } from './messages.js'
import type { SourceEndpoints } from './source-endpoints.js'
import { SseResponseReader, type SseSink } from './sse-reader.js'

export interface ConnectionContext {
  readonly host: string
  readonly port: number
  readonly readyEvent: string | null
  /** The worker's local (address, port) pairs: each (re)connection binds the next free one. */
  readonly sourceEndpoints: SourceEndpoints
  readonly latency: Histogram
  readonly counters: { received: number; reconnects: number; shed: number; heartbeats: number }
  /** Called once per (re)connection when the stream becomes live, or fails for good. */
  onSettled(connection: BenchConnection, live: boolean): void
}

/**
 * Every socket of the worker reads into this one buffer (`onread`), and the reader has copied
 * what it keeps before the next read. That skips a Buffer and a stream 'data' event per read:
 * the load client shares the 2 cores with the server it measures, so what it spends there
 * queues the server too.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024)

export class BenchConnection implements SseSink {
  next = 0
  gaps = 0
  duplicates = 0
  outOfOrder = 0
  live = false
  #socket: net.Socket | undefined
  #reader: SseResponseReader | undefined
  #lastEventId = ''
  #retryMs = 1000
  #stopped = false
  #chunkTime = 0
  #settled = false

  constructor(
    readonly subscription: Subscription,
    private readonly context: ConnectionContext,
  ) {}

  connect(): void {
    this.#stopped = false
    this.#settled = false
    const reader = new SseResponseReader(this)
    this.#reader = reader
    const source = this.context.sourceEndpoints.take()
    const socket = net.connect({
      host: this.context.host,
      port: this.subscription.port ?? this.context.port,
      localAddress: source.address,
      localPort: source.port,
      onread: {
        buffer: READ_BUFFER,
        // Returning false would pause the socket; the reader never needs that.
        callback: (bytes) => {
          this.#chunkTime = now()
          reader.push(READ_BUFFER.subarray(0, bytes))
          return true
        },
      },
    })
    this.#socket = socket
    socket.setNoDelay(true)
    let request = `GET ${this.subscription.path} HTTP/1.1\r\nHost: ${this.context.host}\r\nAccept: text/event-stream\r\n`
    for (const [name, value] of Object.entries(this.subscription.headers)) request += `${name}: ${value}\r\n`
    if (this.#lastEventId !== '') request += `Last-Event-ID: ${this.#lastEventId}\r\n`
    socket.write(`${request}\r\n`)
    socket.on('error', () => {})
    socket.on('close', () => {
      this.context.sourceEndpoints.release(source)
      if (this.#reader === reader) this.#lastEventId = reader.lastEventId || this.#lastEventId
      if (this.#socket !== socket) return
      this.live = false
      this.#socket = undefined
      if (this.#stopped) return
      if (!this.#settled) {
        this.#settled = true
        this.context.onSettled(this, false)
      }
      // The server closed or shed the stream: come back after its retry hint, jittered like browsers.
      this.context.counters.reconnects++
      setTimeout(() => this.#stopped || this.connect(), this.#retryMs * (0.5 + Math.random()))
    })
  }

  /** Closes the stream without reconnecting; it keeps its position for a later `connect`. */
  drop(): void {
    this.#stopped = true
    this.live = false
    const socket = this.#socket
    this.#socket = undefined
    if (this.#reader !== undefined) this.#lastEventId = this.#reader.lastEventId || this.#lastEventId
    socket?.destroy()
  }

  onHead(status: number): void {
    if (status !== 200) {
      this.#socket?.destroy()
      return
    }
    if (this.context.readyEvent === null) this.#becomeLive()
  }

  onEvent(type: string, data: string): void {
    if (type === 'message' || type === 'n') {
      this.#message(data)
    } else if (type === this.context.readyEvent) {
      this.#becomeLive()
    } else if (type === 'herald.unavailable') {
      this.context.counters.shed++
    } else if (type === 'heartbeat') {
      // The naive baseline's heartbeat is an event; the others send a comment.
      this.context.counters.heartbeats++
    }
  }

  onComment(): void {
    this.context.counters.heartbeats++
  }

  onRetry(delayMs: number): void {
    this.#retryMs = delayMs
  }

  /** The response ended (e.g. a shed answer on a kept-alive connection): close, and the close handler comes back later. */
  onEnd(): void {
    this.#socket?.destroy()
  }

  #becomeLive(): void {
    this.live = true
    if (this.#settled) return
    this.#settled = true
    this.context.onSettled(this, true)
  }

  #message(data: string): void {
    const seqAt = data.indexOf('"s":')
    const timeAt = data.indexOf('"t":')
    if (seqAt < 0 || timeAt < 0) return
    const seq = Number.parseInt(data.slice(seqAt + 4), 10)
    const published = Number.parseFloat(data.slice(timeAt + 4))
    this.context.counters.received++
    this.context.latency.record(Math.round((this.#chunkTime - published) * 1000))
    if (seq === this.next) {
      this.next++
    } else if (seq > this.next) {
      this.gaps += seq - this.next
      this.outOfOrder++
      this.next = seq + 1
    } else {
      this.duplicates++
    }
  }
}
