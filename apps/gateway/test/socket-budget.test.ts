/**
 * A node at its open-file limit. Sockets that send nothing (a flood, a slowloris) give way to
 * new ones, so the liveness probe, publishes and the node's own Redis connections still get a
 * descriptor while the flood lasts, and no stream is touched.
 */

import net from 'node:net'
import { HeraldPublisher } from '@herald/publisher'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GatewayProcess, RecordingEventSource, signToken, startGatewayProcess, TEST_API_KEY } from './harness.js'

/** 168 client sockets at most (the limit less half its headroom of 64), 136 streams by default. */
const FILE_LIMIT = 200
const STREAMS = 20
const FLOOD = 250
const MESSAGES = 50

let redis: RedisServer
let gateway: { process: GatewayProcess; url: string }
let publisher: HeraldPublisher
beforeAll(async () => {
  redis = await startRedis()
  gateway = await startGatewayProcess({ REDIS_URL: redis.url }, undefined, FILE_LIMIT)
  publisher = new HeraldPublisher({ redis: redis.url })
})
afterAll(async () => {
  await publisher.close()
  await gateway.process.stop()
  await redis.stop()
})

describe('a node whose client sockets reach its open-file budget', () => {
  it('closes idle sockets, oldest first, and keeps serving probes, publishes, Redis and every stream', async () => {
    const tabs = await Promise.all(
      Array.from(
        { length: STREAMS },
        async (_, n) => new RecordingEventSource(`${gateway.url}/v1/events`, { token: await signToken(`u${n}`) }),
      ),
    )
    const flood: net.Socket[] = []
    try {
      await Promise.all(tabs.map((tab) => tab.waitForReady()))
      const { hostname, port } = new URL(gateway.url)
      const closed: number[] = []
      for (let n = 0; n < FLOOD; n++) {
        const socket = net.connect(Number(port), hostname)
        socket.on('error', () => {})
        socket.on('close', () => closed.push(n))
        flood.push(socket)
        await new Promise((resolve) => socket.once('connect', resolve))
      }

      // The probe's own connection is taken: without the budget it was reset (EMFILE at accept).
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200)
      // The node's Redis subscriber is cut and must connect again, with the flood still open.
      await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      const throughNode = await fetch(`${gateway.url}/v1/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'u0', data: 0 }),
      })
      expect(throughNode.status).toBe(200)
      await publisher.publishBatch(range(STREAMS - 1).map((u) => ({ target: { user: `u${u + 1}` }, data: 0 })))
      for (let n = 1; n < MESSAGES; n++) {
        await publisher.publishBatch(range(STREAMS).map((u) => ({ target: { user: `u${u}` }, data: n })))
      }

      // Every message to every stream, once and in order, on the connection it opened first.
      for (const tab of tabs) {
        await tab.waitForEvents(MESSAGES)
        expect(tab.payloads()).toEqual(range(MESSAGES))
        expect(tab.opens).toBe(1)
      }
      // The flood's oldest sockets were closed, and none younger than those left open (their
      // close events may arrive in any order: the kernel reports many sockets at once).
      expect(closed.length).toBeGreaterThanOrEqual(FLOOD + STREAMS - (FILE_LIMIT - 32))
      expect(closed.sort((a, b) => a - b)).toEqual(range(closed.length))
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
      expect(Number(/^herald_client_sockets_closed_total\{socket="idle"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(
        0,
      )
      expect(metrics).toMatch(/^herald_connections 20$/m)
      expect(gateway.process.output()).toMatch(/client sockets at the open-file budget: one was closed/)
    } finally {
      for (const socket of flood) socket.destroy()
      for (const tab of tabs) tab.close()
    }
  })
})

describe('sockets a client keeps after its answer', () => {
  it('are closed once answered: CONNECT answers that a half-open client never closes do not hold the budget', async () => {
    const { hostname, port } = new URL(gateway.url)
    const kept: net.Socket[] = []
    try {
      for (let n = 0; n < FILE_LIMIT; n++) {
        const socket = net.connect({ port: Number(port), host: hostname, allowHalfOpen: true })
        socket.on('error', () => {})
        socket.resume()
        kept.push(socket)
        await new Promise((resolve) => socket.once('connect', resolve))
        socket.write('CONNECT 127.0.0.1:6379 HTTP/1.1\r\nHost: 127.0.0.1:6379\r\n\r\n')
        // The answer, and the node's FIN behind it; the client keeps its own side open.
        await new Promise((resolve) => socket.once('end', resolve))
      }
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200)
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
      expect(metrics).toMatch(/^herald_client_sockets_closed_total\{socket="newcomer"\} 0$/m)
    } finally {
      for (const socket of kept) socket.destroy()
    }
  })
})

function range(count: number): number[] {
  return Array.from({ length: count }, (_, n) => n)
}
