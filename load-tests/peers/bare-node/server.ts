/**
 * The floor under any Node SSE gateway: `node:http` and nothing else. No framework, no auth, no
 * history, no limits, no metrics, no Redis; just what every event stream costs the runtime.
 * Streams are kept in a Map of key to sockets; once a response's head is out, each event goes
 * to the socket as one HTTP/1.1 chunk, framed once and shared by every receiver (the cheapest
 * write Node offers); one timer sends a heartbeat every 15 s to every stream that carried
 * nothing since the last one, as Herald does. (Heartbeating streams that just carried events
 * too made a burst of 10,000 writes every 15 s, which put 94-150 ms into unicast steps.)
 *
 * It is a measuring stick, not a peer a team would deploy: the gap between it and Herald is what
 * Herald's own work costs, and the gap between it and Nchan is what Node costs.
 *
 * With REDIS_URL it is the floor under a gateway fed by Redis instead: each key's first stream
 * SSUBSCRIBEs the key's Herald shard channel (`herald:{u:<user>}:c`), and each announcement
 * that `herald_publish_batch` sends there is written to the key's sockets as one chunk, with no
 * position check, resume, probes or metrics. Published through the Herald publisher, its
 * unicast differs from Herald's in the gateway's own work only.
 * PORT (and HEARTBEAT_MS, REDIS_URL) from the environment; prints `listening <port>`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { channelKeyOfPubsub, createRedisClient, parseRedisTarget, pubsubChannel } from '@herald/publisher/internal'

const HEARTBEAT_MS = Number(process.env['HEARTBEAT_MS'] ?? 15_000)
const MAX_BODY_BYTES = 64 * 1024
/** A stream's socket, and whether it carried anything since the last heartbeat tick. */
interface Stream {
  readonly socket: Socket
  spoke: boolean
}
const streams = new Map<string, Set<Stream>>()
let nextId = 0
const subscriber = redisSubscriber(process.env['REDIS_URL'])

/** Announcements `<id>\n<type>\n<data>` on `herald:{<key>}:c`, written to the key's sockets. */
function redisSubscriber(url: string | undefined) {
  if (url === undefined) return undefined
  const target = parseRedisTarget(url)
  if (typeof target === 'string') throw new Error(`REDIS_URL ${target}`)
  const client = createRedisClient(target)
  client.on('smessage', (channel: string, message: string) => {
    // The map is keyed by the bare user or topic name: the channel key without its `u:`/`t:`.
    const targets = streams.get(channelKeyOfPubsub(channel)?.slice(2) ?? '')
    if (targets === undefined) return
    const idEnd = message.indexOf('\n')
    const typeEnd = message.indexOf('\n', idEnd + 1)
    const text = `id: ${message.slice(0, idEnd)}\ndata: ${message.slice(typeEnd + 1)}\n\n`
    // A string for one socket, as Herald writes a unicast event: no Buffer to allocate.
    send(targets, targets.size === 1 ? chunkText(text) : chunk(text))
  })
  return client
}

function send(targets: Set<Stream>, event: Buffer | string): void {
  for (const stream of targets) {
    stream.socket.write(event)
    stream.spoke = true
  }
}

/** `text` as one complete chunk of the chunked coding. */
function chunkText(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`
}

/** {@link chunkText} encoded once, ready for any number of sockets. */
function chunk(text: string): Buffer {
  return Buffer.from(chunkText(text))
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
  const set = streams.get(key) ?? new Set<Stream>()
  streams.set(key, set)
  const stream: Stream = { socket, spoke: false }
  set.add(stream)
  const channel = pubsubChannel(redisKey(url))
  response.once('close', () => {
    set.delete(stream)
    if (set.size > 0) return
    streams.delete(key)
    subscriber?.sunsubscribe(channel).catch(() => {})
  })
  if (subscriber === undefined || set.size > 1) socket.write(READY)
  // Ready once Redis delivers the channel, as Herald's herald.ready is.
  else
    subscriber.ssubscribe(channel).then(
      () => socket.write(READY),
      () => response.destroy(),
    )
}

/** Herald's channel key for the stream: `u:<user>` or `t:<topic>`. */
function redisKey(url: URL): string {
  const topic = url.searchParams.get('topic')
  return topic === null ? `u:${url.searchParams.get('user')}` : `t:${topic}`
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
    if (targets !== undefined) send(targets, event)
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
  for (const set of streams.values())
    for (const stream of set) {
      if (!stream.spoke) stream.socket.write(HEARTBEAT)
      stream.spoke = false
    }
}, HEARTBEAT_MS).unref()

server.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 0), backlog: 4096 }, () => {
  const address = server.address()
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : ''}`)
})
process.on('SIGTERM', () => {
  server.close()
  process.exit(0)
})
