/**
 * Publishing over HTTP for the peers, as cheaply as a load client can: keep-alive sockets, each
 * batch written as pipelined requests in one write, responses counted by their status lines.
 * Node's http client would cost the shared cores several times more per publish.
 */
import net from 'node:net'

interface Waiter {
  remaining: number
  failed: number
  resolve(failed: number): void
}

class PipelinedSocket {
  #socket: net.Socket | undefined
  readonly #waiters: Waiter[] = []
  #tail = ''
  /** Why the last publish failed: a status line, or the connection closing. */
  lastFailure = ''

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  send(requests: string, count: number): Promise<number> {
    return new Promise((resolve) => {
      this.#waiters.push({ remaining: count, failed: 0, resolve })
      this.#connected().write(requests)
    })
  }

  /** Connects on first use and after the server closed the connection. */
  #connected(): net.Socket {
    if (this.#socket !== undefined) return this.#socket
    const socket = net.connect({ host: this.host, port: this.port })
    this.#socket = socket
    socket.setNoDelay(true)
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => this.#count(chunk.toString('latin1', 0, chunk.length)))
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined
      this.#tail = ''
      // Requests the server never answered count as failed, so no batch waits forever.
      if (this.#waiters.length > 0) this.lastFailure = 'the server closed the connection'
      for (const waiter of this.#waiters.splice(0)) waiter.resolve(waiter.failed + waiter.remaining)
    })
    return socket
  }

  #count(text: string): void {
    // Status lines can straddle reads: keep the last bytes of each read for the next.
    const scan = this.#tail + text
    let at = scan.indexOf('HTTP/1.1 ')
    while (at >= 0 && at + 10 <= scan.length) {
      const ok = scan.charCodeAt(at + 9) === 50 // '2xx'
      const waiter = this.#waiters[0]
      if (waiter !== undefined) {
        if (!ok) {
          waiter.failed++
          this.lastFailure = scan.slice(at, scan.indexOf('\r', at))
        }
        if (--waiter.remaining === 0) {
          this.#waiters.shift()
          waiter.resolve(waiter.failed)
        }
      }
      at = scan.indexOf('HTTP/1.1 ', at + 10)
    }
    this.#tail = scan.slice(Math.max(at >= 0 ? at : scan.length - 9, scan.length - 9))
  }

  close(): void {
    this.#socket?.destroy()
  }
}

export class PipelinedPublisher {
  readonly #sockets: PipelinedSocket[]

  constructor(
    private readonly host: string,
    private readonly port: number,
    // nginx answers a connection's pipelined requests one after another, and with Nchan's Redis
    // storage each waits for a Redis round trip: on 4 connections Nchan with Redis topped out at
    // 6.4k publishes/s with the cores half idle, while 16 or more carried 16–18k/s (the harness
    // review of 2026-12-07). So the peers get enough connections that the publisher is not the limit.
    sockets = 32,
  ) {
    this.#sockets = Array.from({ length: sockets }, () => new PipelinedSocket(host, port))
  }

  /**
   * Sends POSTs of (path, body) pairs; rejects if any was not answered 2xx. One channel always
   * goes over the same socket, so its messages keep their order.
   */
  async post(requests: ReadonlyArray<readonly [path: string, body: string, channel: string]>): Promise<void> {
    const texts = this.#sockets.map(() => '')
    const counts = this.#sockets.map(() => 0)
    for (const [path, body, channel] of requests) {
      const s = hash(channel) % this.#sockets.length
      texts[s] +=
        `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      counts[s]!++
    }
    const sends = this.#sockets.map((socket, s) => (counts[s] === 0 ? 0 : socket.send(texts[s]!, counts[s]!)))
    const failed = (await Promise.all(sends)).reduce((a, b) => a + b, 0)
    if (failed > 0) {
      const why = this.#sockets.map((socket) => socket.lastFailure).find((text) => text !== '')
      throw new Error(`${failed} of ${requests.length} publishes were not accepted (${why})`)
    }
  }

  close(): void {
    for (const socket of this.#sockets) socket.close()
  }
}

function hash(text: string): number {
  let h = 2_166_136_261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619)
  return h >>> 0
}
