/**
 * The floor under any Node SSE gateway: `node:http` and nothing else. No framework, no auth, no
 * history, no limits, no metrics, no Redis; just what every event stream costs the runtime.
 * Streams are kept in a Map of key to sockets; once a response's head is out, each event goes
 * to the socket as one HTTP/1.1 chunk, framed once and shared by every receiver (the cheapest
 * write Node offers); one timer sends a heartbeat to every stream every 15 s, as Herald does.
 *
 * It is a measuring stick, not a peer a team would deploy: the gap between it and Herald is what
 * Herald's own work costs, and the gap between it and Nchan is what Node costs.
 * PORT (and HEARTBEAT_MS) from the environment; prints `listening <port>`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

const HEARTBEAT_MS = Number(process.env['HEARTBEAT_MS'] ?? 15_000)
const MAX_BODY_BYTES = 64 * 1024
const streams = new Map<string, Set<Socket>>()
let nextId = 0

/** `text` as one complete chunk of the chunked coding, ready for any socket. */
function chunk(text: string): Buffer {
  const length = Buffer.byteLength(text)
  return Buffer.from(`${length.toString(16)}\r\n${text}\r\n`)
}

const READY = chunk('event: ready\ndata: {}\n\n')
const HEARTBEAT = chunk(':\n\n')

function openStream(url: URL, response: ServerResponse): void {
  const key = url.searchParams.get('topic') ?? url.searchParams.get('user')
  if (key === null) {
    response.writeHead(400).end('user or topic required')
    return
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
  response.flushHeaders()
  const socket = response.socket
  if (socket === null) return
  const set = streams.get(key) ?? new Set<Socket>()
  streams.set(key, set)
  set.add(socket)
  socket.write(READY)
  response.once('close', () => {
    set.delete(socket)
    if (set.size === 0) streams.delete(key)
  })
}

function publish(request: IncomingMessage, response: ServerResponse): void {
  const parts: Buffer[] = []
  let size = 0
  request.on('data', (part: Buffer) => {
    size += part.length
    if (size <= MAX_BODY_BYTES) parts.push(part)
  })
  request.on('end', () => {
    let body: { user?: string; topic?: string; data?: unknown }
    try {
      if (size > MAX_BODY_BYTES) throw new Error('too large')
      body = JSON.parse(Buffer.concat(parts).toString('utf8'))
    } catch {
      response.writeHead(400).end('invalid JSON')
      return
    }
    const key = body.topic ?? body.user
    if (key === undefined || body.data === undefined) {
      response.writeHead(400).end('user or topic, and data, required')
      return
    }
    const id = String(++nextId)
    const event = chunk(`id: ${id}\ndata: ${JSON.stringify(body.data)}\n\n`)
    const targets = streams.get(key)
    if (targets !== undefined) for (const socket of targets) socket.write(event)
    response.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":"${id}"}`)
  })
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost')
  if (request.method === 'GET' && url.pathname === '/events') openStream(url, response)
  else if (request.method === 'POST' && url.pathname === '/publish') publish(request, response)
  else response.writeHead(404).end()
})

setInterval(() => {
  for (const set of streams.values()) for (const socket of set) socket.write(HEARTBEAT)
}, HEARTBEAT_MS).unref()

server.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 0), backlog: 4096 }, () => {
  const address = server.address()
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : ''}`)
})
process.on('SIGTERM', () => {
  server.close()
  process.exit(0)
})
