/**
 * A gateway process that stood still (SIGSTOP here; a long GC or a loaded host in life) while
 * Redis went on delivering. Its Pub/Sub probes are sent by its own timer, so on waking it had
 * sent none to arrive, and it took every probe for overdue: /readyz failed and new streams were
 * turned away `broker_unavailable` (14 of 15 after 350–800 ms at a 100 ms probe interval).
 */
import { pollUntil, type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RawSseStream, signToken } from './harness.js'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

let redis: RedisServer
let nodes: GatewayNode[] = []
beforeAll(async () => {
  redis = await startRedis()
  nodes = await startNodes(redis.url, 1, { PUBSUB_PROBE_INTERVAL_MS: '100' })
})
afterAll(async () => {
  await stopNodes(nodes)
  await redis.stop()
})

describe('a gateway that stood still while Redis delivered', () => {
  it('is ready and sets up streams as soon as it runs again: its own pause is not Redis away', async () => {
    const [node] = nodes as [GatewayNode]
    const pid = node.process.child.pid!
    const token = await signToken('alice')
    await pollUntil('the node ready', async () => ((await fetch(`${node.url}/readyz`)).ok ? true : undefined))
    for (let round = 0; round < 3; round++) {
      process.kill(pid, 'SIGSTOP')
      try {
        // Asked while it stands still: answered first thing when it runs again.
        const readiness = fetch(`${node.url}/readyz`)
        const stream = new RawSseStream(node.eventsUrl(), { authorization: `Bearer ${token}` })
        // The length of the pause (ten probe intervals), not a wait for anything.
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        process.kill(pid, 'SIGCONT')
        expect((await readiness).status).toBe(200)
        await stream.until(
          (s) => s.events.some((e) => e.type === 'herald.ready' || e.type === 'herald.unavailable'),
          10_000,
          'herald.ready or herald.unavailable',
        )
        expect(stream.events.map((e) => e.type)).toEqual(['herald.ready'])
        stream.close()
      } finally {
        process.kill(pid, 'SIGCONT')
      }
    }
    expect(node.process.stdout()).not.toContain('pubsub probe overdue')
  })
})
