/**
 * Clients that send their request and then their FIN (a half-close: HTTP/1.0-style clients,
 * `nc -N`, `socket.end(request)` in Node). A publish still waiting on Redis when the FIN comes
 * is answered, so its client does not send it again; a stream ends with the FIN, as it would
 * for a client that closed the connection whole.
 */

import { once } from 'node:events'
import net from 'node:net'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken, TEST_API_KEY } from './harness.js'
import { type GatewayNode, metricSettlesAt, startNodes, stopNodes } from './redis-nodes.js'

let redis: RedisServer
let nodes: GatewayNode[] = []
beforeAll(async () => {
  redis = await startRedis()
  nodes = await startNodes(redis.url, 1)
})
afterAll(async () => {
  await stopNodes(nodes)
  await redis.stop()
})

/** Sends `request` and the FIN right behind it; resolves to everything the gateway sent back. */
async function sendAndHalfClose(request: string): Promise<string> {
  const { hostname, port } = new URL(nodes[0]!.url)
  const socket = net.connect({ port: Number(port), host: hostname, allowHalfOpen: true })
  await once(socket, 'connect')
  let answer = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    answer += chunk
  })
  const closed = once(socket, 'close')
  socket.end(request)
  await closed
  return answer
}

describe('a client that half-closes after its request', () => {
  it('gets the answer to a publish that was still waiting on Redis, and it is published once', async () => {
    const alice = new RecordingEventSource(nodes[0]!.eventsUrl(), { token: await signToken('alice') })
    try {
      await alice.waitForReady()
      const answers: string[] = []
      for (let n = 0; n < 5; n++) {
        const body = JSON.stringify({ user: 'alice', data: n })
        // Redis holds writes for a while: the FIN arrives while the publish waits on it.
        await redis.cli('CLIENT', 'PAUSE', '300', 'WRITE')
        answers.push(
          await sendAndHalfClose(
            `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ),
        )
      }
      for (const answer of answers) {
        expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
        expect(answer).toMatch(/"id":"\d+-\d+"/)
      }
      await alice.waitForEvents(5, 'message')
      expect(alice.payloads()).toEqual([0, 1, 2, 3, 4])
    } finally {
      alice.close()
    }
  })

  it('gets the answer to a publish followed by part of another request and then the FIN, published once', async () => {
    const carol = new RecordingEventSource(nodes[0]!.eventsUrl(), { token: await signToken('carol') })
    try {
      await carol.waitForReady()
      const partials = [
        'GET /healthz HT',
        'GET /healthz HTTP/1.1\r\nHost: x\r\n',
        'POST /v1/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a',
      ]
      const answers: string[] = []
      for (const [n, partial] of partials.entries()) {
        const body = JSON.stringify({ user: 'carol', data: n })
        await redis.cli('CLIENT', 'PAUSE', '200', 'WRITE')
        answers.push(
          await sendAndHalfClose(
            `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}${partial}`,
          ),
        )
      }
      for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"id":"\d+-\d+"/)
      await carol.waitForEvents(3, 'message')
      expect(carol.payloads()).toEqual([0, 1, 2])
    } finally {
      carol.close()
    }
  })

  it('ends a stream with the FIN, so it counts no longer against the node and user budgets', async () => {
    expect(await metricSettlesAt(nodes[0]!, 'herald_connections', 0)).toBe(0)
    const token = await signToken('bob')
    const answer = await sendAndHalfClose(
      `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    // The stream ended: its response is complete (the last chunk), and the node no longer counts it.
    expect(answer.endsWith('\r\n0\r\n\r\n')).toBe(true)
    expect(await metricSettlesAt(nodes[0]!, 'herald_connections', 0)).toBe(0)
  })
})
