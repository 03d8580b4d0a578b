import { pollUntil, startRedisCluster, startRedisSentinel } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import { metric, publishSequence, type RedisUnderTest, useFleet } from './redis-nodes.js'

const range = (count: number) => Array.from({ length: count }, (_, n) => n)

/** Delivery to every node and exact resume on another node, on one Redis topology. */
function describeDeliveryAndResume(name: string, start: () => Promise<RedisUnderTest>): void {
  describe(`gateways on ${name}`, () => {
    // Overdue after three intervals: 1.5 s, not a busy machine's stall (100 ms warned under a load average of 9).
    const fleet = useFleet(start, 2, { PUBSUB_PROBE_INTERVAL_MS: '500' })
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

    it('stays ready and quiet: each node sees its own Pub/Sub probe come back, and warned of nothing', async () => {
      for (const node of fleet.nodes) {
        // Four probes back: a node whose probe never arrives would be unready by then.
        await pollUntil('four probe round trips', async () =>
          (await metric(node, 'herald_pubsub_probe_latency_seconds_count')) > 3 ? true : undefined,
        )
        expect((await fetch(`${node.url}/readyz`)).status).toBe(200)
        // Nothing went wrong, from startup on: a warning here would teach operators to ignore them.
        const warnings = node.process
          .output()
          .split('\n')
          .filter((line) => /"level":(40|50|60)/.test(line))
        expect(warnings).toEqual([])
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
