import { HeraldPublisher } from '@herald/publisher'
import { startRedisCluster, startRedisSentinel } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken } from './harness.js'
import { publishSequence, type RedisUnderTest, startNodes, stopNodes, useFleet } from './redis-nodes.js'

const range = (count: number) => Array.from({ length: count }, (_, n) => n)

/** Delivery to every node and exact resume on another node, on one Redis topology. */
function describeDeliveryAndResume(name: string, start: () => Promise<RedisUnderTest>): void {
  describe(`gateways on ${name}`, () => {
    const fleet = useFleet(start, 2, { PUBSUB_PROBE_INTERVAL_MS: '100' })
    const { tab } = fleet

    it('delivers user and topic notifications to tabs on every node', async () => {
      const tabs = [
        await tab(fleet.nodes[0]!, 'alice', { topics: 'news' }),
        await tab(fleet.nodes[1]!, 'alice', { topics: 'news' }),
      ]
      await Promise.all(tabs.map((t) => t.waitForReady()))
      for (const n of range(20)) {
        await fleet.publisher.publish(n % 2 === 0 ? { user: 'alice' } : { topic: 'news' }, undefined, n)
      }
      for (const t of tabs) {
        await t.waitForEvents(20)
        expect(t.payloads()).toEqual(range(20))
      }
    })

    it('resumes exactly on the other node while publishing continues', async () => {
      const users = ['u1', 'u2', 'u3', 'u4']
      const first = await Promise.all(users.map((user) => tab(fleet.nodes[0]!, user)))
      await Promise.all(first.map((t) => t.waitForReady()))
      const total = 1000
      const publishing = publishSequence(total, 1000, (n) =>
        fleet.publisher
          .publishBatch(users.map((user) => ({ target: { user }, data: n, idempotencyKey: `m${n}` })))
          .then(() => undefined),
      )
      await Promise.all(first.map((t) => t.waitForEvents(200)))
      const moved = first.map((t, i) => {
        t.close()
        return tab(fleet.nodes[1]!, users[i]!, { lastEventId: t.events.at(-1)!.lastEventId })
      })
      const second = await Promise.all(moved)
      await publishing
      for (const [i, t] of second.entries()) {
        const before = first[i]!.payloads() as number[]
        await t.waitForEvents(total - before.length)
        expect([...before, ...(t.payloads() as number[])]).toEqual(range(total))
      }
    })

    it('stays ready: each node sees its own Pub/Sub probe come back', async () => {
      // The tests above ran for many probe intervals; a node whose probe never arrives is unready by now.
      for (const node of fleet.nodes) {
        expect((await fetch(`${node.url}/readyz`)).status).toBe(200)
        const metrics = await (await fetch(`${node.url}/metrics`)).text()
        expect(Number(/^herald_pubsub_probe_latency_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(3)
      }
    })
  })
}

describeDeliveryAndResume('a Redis Cluster of 3 masters', async () => {
  const cluster = await startRedisCluster()
  return {
    url: `redis+cluster://${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    stop: () => cluster.stop(),
  }
})

describeDeliveryAndResume('Redis Sentinel', async () => {
  const setup = await startRedisSentinel()
  return {
    url: `redis+sentinel://${setup.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${setup.masterName}`,
    stop: () => setup.stop(),
  }
})

describe('a Sentinel failover during publishing', () => {
  it('loses nothing the publisher was told is replicated, and never leaves a silent gap', async () => {
    const setup = await startRedisSentinel()
    const { url } = setup
    const nodes = await startNodes(url, 2)
    const publisher = new HeraldPublisher({ redis: url, waitForReplicas: { replicas: 1, timeoutMs: 500 } })
    const clients = await Promise.all(
      nodes.map(async (node) => new RecordingEventSource(node.eventsUrl(), { token: await signToken('frank') })),
    )
    try {
      await Promise.all(clients.map((client) => client.waitForReady()))
      const total = 1200
      let failedOver: Promise<unknown> | undefined
      const retried = new Set<number>()
      const { acknowledged } = await publishSequence(
        total,
        500,
        async (n) => {
          if (n === 400 && failedOver === undefined) failedOver = setup.failover()
          await publisher.publish({ user: 'frank' }, undefined, n, { idempotencyKey: `m${n}` })
        },
        // During the switch publishes fail or are not replicated in time: retry them. A failed
        // attempt may still have reached subscribers before the old master was demoted, and its
        // idempotency key may be lost with it, so a retried message may arrive twice.
        async (n) => {
          retried.add(n)
          await failedOver
        },
      )
      expect(acknowledged).toEqual(range(total))
      for (const client of clients) {
        await client.waitUntil(() => client.payloads().includes(total - 1), `message ${total - 1}`, 60_000)
        expectNoSilentGap(client, retried)
        if (client.count('herald.reset') === 0) expect(new Set(client.payloads())).toEqual(new Set(range(total)))
      }
    } finally {
      for (const client of clients) client.close()
      await publisher.close()
      await stopNodes(nodes)
      await setup.stop()
    }
  })
})

/**
 * In order; a message twice only if its publish was retried; and every gap in the
 * sequence announced by a herald.reset right where it happens.
 */
function expectNoSilentGap(client: RecordingEventSource, retried: ReadonlySet<number>): void {
  let last = -1
  let resetSinceLast = false
  for (const event of client.events) {
    if (event.type === 'herald.reset') resetSinceLast = true
    if (event.type !== 'message') continue
    const n = JSON.parse(event.data) as number
    if (n === last && retried.has(n)) continue
    expect(n).toBeGreaterThan(last)
    if (n !== last + 1) expect(resetSinceLast, `gap before ${n} without herald.reset`).toBe(true)
    last = n
    resetSinceLast = false
  }
}
