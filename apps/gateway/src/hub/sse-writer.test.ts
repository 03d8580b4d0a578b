import { createServer, type Server } from 'node:http'
import net from 'node:net'
import { SseParser } from '@herald/protocol'
import { pollUntil } from '@herald/redis-harness'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { recordingLogger, startTestGateway, type TestGateway } from '../../test/harness.js'
import { SseWriter } from './sse-writer.js'

/**
 * The SSE writer frames HTTP/1.1 chunks itself, so these tests read the raw
 * bytes off a socket and de-chunk them by the declared sizes: a wrong size
 * anywhere corrupts everything after it.
 */
class RawHttpStream {
  #bytes = Buffer.alloc(0)
  #waiters: Array<() => void> = []
  #closed = false
  readonly socket: net.Socket

  constructor(port: number, request: string) {
    this.socket = net.connect(port, '127.0.0.1', () => this.socket.write(request))
    this.socket.on('data', (chunk: Buffer) => {
      this.#bytes = Buffer.concat([this.#bytes, chunk])
      for (const waiter of this.#waiters.splice(0)) waiter()
    })
    this.socket.on('close', () => {
      this.#closed = true
      for (const waiter of this.#waiters.splice(0)) waiter()
    })
  }

  get text(): string {
    return this.#bytes.toString()
  }

  /** Resolves once `predicate` holds for the bytes received so far; rejects if the socket closes first. */
  async until(predicate: (text: string) => boolean): Promise<void> {
    while (!predicate(this.text)) {
      if (this.#closed) throw new Error(`socket closed; received ${JSON.stringify(this.text)}`)
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  /** The responses' heads and bodies, de-chunked where the head says chunked. */
  responses(): Array<{ head: string; body: string }> {
    const out: Array<{ head: string; body: string }> = []
    let at = 0
    const bytes = this.#bytes
    while (at < bytes.length) {
      const headEnd = bytes.indexOf('\r\n\r\n', at)
      if (headEnd < 0) break
      const head = bytes.subarray(at, headEnd).toString()
      at = headEnd + 4
      if (/transfer-encoding: chunked/i.test(head)) {
        const body: Buffer[] = []
        for (;;) {
          const lineEnd = bytes.indexOf('\r\n', at)
          if (lineEnd < 0) break
          const size = Number.parseInt(bytes.subarray(at, lineEnd).toString(), 16)
          expect(Number.isNaN(size)).toBe(false)
          if (lineEnd + 2 + size + 2 > bytes.length) break
          body.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size))
          expect(bytes.subarray(lineEnd + 2 + size, lineEnd + 4 + size).toString()).toBe('\r\n')
          at = lineEnd + 4 + size
          if (size === 0) break
        }
        out.push({ head, body: Buffer.concat(body).toString() })
      } else {
        const length = /content-length: (\d+)/i.exec(head)
        const end = length === null ? bytes.length : at + Number(length[1])
        out.push({ head, body: bytes.subarray(at, end).toString() })
        at = end
      }
    }
    return out
  }
}

function eventsOf(body: string): Array<{ type: string; data: string; lastEventId: string }> {
  const events: Array<{ type: string; data: string; lastEventId: string }> = []
  const parser = new SseParser({ onEvent: (e) => events.push(e) })
  parser.push(body)
  return events
}

describe('SSE writer on the wire', () => {
  let gateway: TestGateway
  let port: number
  const sockets: net.Socket[] = []
  const open = (request: string) => {
    const stream = new RawHttpStream(port, request)
    sockets.push(stream.socket)
    return stream
  }

  beforeEach(async () => {
    gateway = await startTestGateway()
    port = Number(new URL(gateway.url).port)
  })
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy()
    await gateway.close()
  })

  it('frames every chunk by its byte length, multi-byte text and multi-channel ids included', async () => {
    const token = await gateway.token('zoe', { topics: ['news'] })
    const stream = open(`GET /v1/events?topics=news HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
    await stream.until((text) => text.includes('herald.ready'))
    await gateway.publish({ user: 'zoe', type: 'greeting', data: 'héllo 🔔' })
    await gateway.publish({ topic: 'news', data: { title: 'naïve ☕' } })
    await stream.until((text) => text.includes('☕'))

    const [response] = stream.responses()
    expect(response!.head).toMatch(/^HTTP\/1\.1 200/)
    expect(response!.head).toMatch(/transfer-encoding: chunked/i)
    const events = eventsOf(response!.body).filter((e) => e.type !== 'herald.ready')
    expect(events.map((e) => [e.type, JSON.parse(e.data)])).toEqual([
      ['greeting', 'héllo 🔔'],
      ['message', { title: 'naïve ☕' }],
    ])
    expect(events.every((e) => e.lastEventId.split(',').length === 2)).toBe(true)
  })

  it('writes an HTTP/1.0 stream unchunked, delimited by the connection', async () => {
    const token = await gateway.token('ada')
    const stream = open(`GET /v1/events HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
    await stream.until((text) => text.includes('herald.ready'))
    await gateway.publish({ user: 'ada', data: 'über' })
    await stream.until((text) => text.includes('über'))

    const [response] = stream.responses()
    expect(response!.head).not.toMatch(/transfer-encoding/i)
    expect(eventsOf(response!.body).map((e) => e.data)).toEqual([
      '{"resume":"fresh","replayed":0,"heartbeatMs":15000}',
      '"über"',
    ])
  })

  it('answers a stream pipelined behind another request in order, on the same socket', async () => {
    const token = await gateway.token('lin')
    const stream = open(
      `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    )
    await stream.until((text) => text.includes('herald.ready'))
    await gateway.publish({ user: 'lin', data: 1 })
    await stream.until((text) => /data: 1\n/.test(text))

    const [health, events] = stream.responses()
    expect(health!.head).toMatch(/^HTTP\/1\.1 200/)
    expect(events!.head).toMatch(/content-type: text\/event-stream/i)
    expect(eventsOf(events!.body).map((e) => e.data)).toEqual([
      '{"resume":"fresh","replayed":0,"heartbeatMs":15000}',
      '1',
    ])
  })

  it('opens no stream pipelined behind another stream, whose answer closes the connection, however many wait', async () => {
    const { logger, lines: logged } = recordingLogger('debug')
    const own = await startTestGateway({}, { logger })
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const request = async (user: string) =>
        `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await own.token(user)}\r\n\r\n`
      // In one write, so the gateway has all 13 before the first stream is set up.
      const requests = await Promise.all(Array.from({ length: 13 }, (_, n) => request(`queue-${n}`)))
      const stream = new RawHttpStream(Number(new URL(own.url).port), requests.join(''))
      sockets.push(stream.socket)
      await stream.until((text) => text.includes('herald.ready'))
      const { hub, budget } = own.services
      expect([...hub.connections].map((connection) => connection.userId)).toEqual(['queue-0'])
      // The first stream ends (as its token would), and with it the connection: the 12 behind it
      // are dropped unanswered, never opened, and hold no slot.
      for (const connection of hub.connections) connection.close('token_expired')
      const dropped = () => logged.filter((line) => line.includes('pipelined request dropped')).length
      await pollUntil('the 12 pipelined streams dropped', async () => (dropped() === 12 ? true : undefined))
      expect(stream.responses()).toHaveLength(1)
      expect([hub.connectionCount, budget.total]).toEqual([0, 0])
      expect(await (await fetch(`${own.url}/metrics`)).text()).toMatch(/^herald_connections_opened_total 1$/m)
      // Node warns past 10 listeners for one event on one emitter, on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning')
    } finally {
      process.off('warning', onWarning)
      await own.close()
    }
  })
})

describe('SSE writer on a bare node:http server', () => {
  let server: Server | undefined
  afterEach(() => server?.close())

  /** Serves every request as an event stream whose writer has written `: open`; resolves to the port. */
  async function serveOpenStream(onOpen: (writer: SseWriter, socket: net.Socket) => void): Promise<number> {
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      const writer = new SseWriter(response)
      writer.writeText(': open\n\n')
      onOpen(writer, response.socket!)
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    return (server.address() as net.AddressInfo).port
  }

  it('holds the head with everything written after it until released, then sends them together', async () => {
    let held!: (state: { corked: number; buffered: number }) => void
    const state = new Promise<{ corked: number; buffered: number }>((resolve) => {
      held = resolve
    })
    const port = await serveOpenStream((writer, socket) => {
      // Nothing has reached the kernel: the head and the preamble wait in the socket.
      held({ corked: socket.writableCorked, buffered: socket.writableLength })
      writer.release()
    })
    const stream = new RawHttpStream(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const { corked, buffered } = await state
    expect(corked).toBe(1)
    expect(buffered).toBeGreaterThan(': open\n\n'.length + 'HTTP/1.1 200 OK\r\n'.length)
    await stream.until((text) => text.includes(': open'))
    const [response] = stream.responses()
    expect(response!.head).toMatch(/^HTTP\/1\.1 200/)
    expect(response!.body).toBe(': open\n\n')
    stream.socket.destroy()
  })

  it('stops taking writes once the client closed its side, before the socket is destroyed', async () => {
    let seen!: (state: { writable: boolean; destroyed: boolean }) => void
    const state = new Promise<{ writable: boolean; destroyed: boolean }>((resolve) => {
      seen = resolve
    })
    const port = await serveOpenStream((writer, socket) => {
      writer.release()
      // The server's own 'end' listener came first and has ended our side: the socket is
      // ending but not destroyed, the state a write-after-end error is built in.
      socket.once('end', () => seen({ writable: writer.writable, destroyed: socket.destroyed }))
    })
    const client = net.connect(port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    client.once('data', () => client.end())
    expect(await state).toEqual({ writable: false, destroyed: false })
    client.destroy()
  })

  it('destroys an ended response that its client does not read, after the grace', async () => {
    const GRACE_MS = 200
    let ended!: (state: { afterMs: number; destroyed: boolean; unsent: number }) => void
    const state = new Promise<{ afterMs: number; destroyed: boolean; unsent: number }>((resolve) => {
      ended = resolve
    })
    const port = await serveOpenStream((writer, socket) => {
      writer.release()
      // More than the client's and the kernel's buffers take while the client reads nothing.
      const event = `data: ${'x'.repeat(64 * 1024)}\n\n`
      for (let i = 0; i < 256; i++) writer.writeText(event)
      const endedAt = performance.now()
      writer.end(GRACE_MS)
      const unsent = socket.writableLength
      writer.response.once('close', () =>
        ended({ afterMs: performance.now() - endedAt, destroyed: socket.destroyed, unsent }),
      )
    })
    const client = net.connect(port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    client.pause()
    const { afterMs, destroyed, unsent } = await state
    // The end could not reach the client; the socket went at the grace, with what it held.
    expect(unsent).toBeGreaterThan(0)
    expect(destroyed).toBe(true)
    expect(afterMs).toBeGreaterThanOrEqual(GRACE_MS - 1)
    client.destroy()
  })

  it('starts the grace of an ended response pipelined behind another only once its turn comes', async () => {
    server = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' })
      if (request.url === '/first') {
        response.write('first ')
        // Ends well after the queued stream's grace would have run out from its own end.
        setTimeout(() => response.end('ends'), 100)
      } else if (request.url === '/queued') {
        const writer = new SseWriter(response)
        writer.writeText('queued')
        // As SseConnection.close does: Node.js 22 drops what a socketless response held corked at its end.
        writer.release()
        writer.end(10)
      } else response.end('last')
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`
    const stream = new RawHttpStream(port, request('/first') + request('/queued') + request('/last'))
    // All three answered in order on the one socket: the queued stream's grace did not cut it.
    await stream.until((text) => text.includes('last'))
    expect(stream.responses().map((response) => response.body)).toEqual(['first ends', 'queued', 'last'])
    stream.socket.destroy()
  })
})
