/**
 * A stream that loses the Redis subscriber while it is still replaying history is turned away as
 * a new stream would be: `herald.unavailable` with a jittered `retry:`, so its browser comes back
 * after a spread-out delay and resumes again, rather than ending bare and every such tab coming
 * back at once after the plain `RETRY_MS`.
 */

import net from 'node:net'
import { HeraldPublisher } from '@herald/publisher'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterEach, expect, it } from 'vitest'
import { RawSseStream, signToken } from './harness.js'
import { type GatewayNode, metricSettlesAt, startNodes, stopNodes } from './redis-nodes.js'

const RETRY_MS = 3000

let redis: RedisServer | undefined
let nodes: GatewayNode[] = []
afterEach(async () => {
  await stopNodes(nodes)
  await redis?.stop()
})

it('turns a stream away with herald.unavailable when the subscriber drops while it replays history', {
  timeout: 60_000,
}, async () => {
  redis = await startRedis()
  nodes = await startNodes(redis.url, 1, { RETRY_MS: String(RETRY_MS) })
  // A tab's position before the burst, from a first visit.
  const token = await signToken('alice')
  const visit = new RawSseStream(nodes[0]!.eventsUrl(), { authorization: `Bearer ${token}` })
  await visit.until((s) => s.events.some((e) => e.type === 'herald.ready'), 10_000, 'herald.ready')
  visit.close()
  const position = visit.ids.at(-1)!
  const publisher = new HeraldPublisher({ redis: redis.url })
  // 300 entries of 60 KB: a replay that a reader who does not read holds up for as long as it likes.
  for (let batch = 0; batch < 3; batch++) {
    const messages = Array.from({ length: 100 }, (_, n) => ({ target: { user: 'alice' }, data: `${n}`.padEnd(60_000) }))
    await publisher.publishBatch(messages)
  }
  await publisher.close()

  const { hostname, port } = new URL(nodes[0]!.url)
  const socket = net.connect(Number(port), hostname)
  socket.pause()
  socket.write(
    `GET /v1/events HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nLast-Event-ID: ${position}\r\n\r\n`,
  )
  // The stream is open and resuming: its replay of 18 MB cannot finish
  // while nobody reads the socket.
  expect(await metricSettlesAt(nodes[0]!, 'herald_connections', 1)).toBe(1)
  await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await nodes[0]!.process.waitForOutput(/stream turned away during setup/)

  socket.resume()
  let text = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    text += chunk
  })
  // The response's last chunk (the connection itself is kept alive).
  await new Promise<void>((resolve) => {
    const ended = () => {
      if (text.endsWith('\r\n0\r\n\r\n')) resolve()
      else socket.once('data', ended)
    }
    socket.once('data', ended)
  })
  socket.destroy()
  const unavailable = /event: herald\.unavailable\r?\n(?:[0-9a-f]+\r\n)?data: (\{[^\n]*\})/.exec(text)
  expect(unavailable, text.slice(-400)).not.toBeNull()
  const reason = JSON.parse(unavailable![1]!)
  expect(reason.reason).toBe('broker_unavailable')
  // The jittered retry of a shed stream (RETRY_MS × 1–2), after the plain one the stream opened with.
  const retries = [...text.matchAll(/retry: (\d+)/g)].map((match) => Number(match[1]))
  expect(retries.at(-1)).toBe(reason.retryMs)
  expect(reason.retryMs).toBeGreaterThanOrEqual(RETRY_MS)
  expect(reason.retryMs).toBeLessThanOrEqual(2 * RETRY_MS)
})
