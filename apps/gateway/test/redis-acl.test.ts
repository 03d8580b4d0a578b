/**
 * docs/redis-contract.md's least-privilege Redis users, as written there, on a Redis Cluster
 * with replicas: a gateway and the publisher SDK work, and no node, replicas included, refuses
 * any of their commands (`ACL LOG`).
 */

import { readFile } from 'node:fs/promises'
import { HeraldPublisher } from '@herald/publisher'
import { pollUntil, type RedisCluster, startRedisCluster } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken } from './harness.js'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

/** The page's `ACL SETUSER <user> …` lines for `user`, in order, as argument lists with this password. */
async function recipe(user: string, password: string): Promise<string[][]> {
  const contract = await readFile(new URL('../../../docs/redis-contract.md', import.meta.url), 'utf8')
  const lines = contract.split('\n').filter((line) => line.startsWith(`ACL SETUSER ${user} `))
  return lines.map((line) => line.replace('>password', `>${password}`).split(' '))
}

describe("docs/redis-contract.md's Redis users on a Redis Cluster", () => {
  let cluster: RedisCluster
  let node: GatewayNode | undefined
  let tab: RecordingEventSource | undefined

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicasPerMaster: 1 })
    const users = [
      ...(await recipe('herald-gateway', 'gateway-password')),
      ...(await recipe('herald-publisher', 'publisher-password')),
    ]
    // Each user's line for a Cluster, besides its base line (and the publisher's for tail).
    expect(users.filter((args) => args.includes('+cluster|slots'))).toHaveLength(2)
    // ACL users are per node: every node gets them, as a failover can make any of them a master.
    for (const server of [...cluster.masters, ...cluster.replicas]) {
      for (const args of users) expect(await server.cli(...args)).toBe('OK')
      await server.cli('ACL', 'LOG', 'RESET')
    }
  })

  afterAll(async () => {
    tab?.close()
    await stopNodes(node === undefined ? [] : [node])
    await cluster?.stop()
  })

  it('a gateway becomes ready and delivers, and the SDK publishes, with no command refused', {
    timeout: 90_000,
  }, async () => {
    const asUser = (user: string, password: string) =>
      cluster.url.replace('redis+cluster://', `redis+cluster://${user}:${password}@`)
    ;[node] = await startNodes(asUser('herald-gateway', 'gateway-password'), 1, { PUBSUB_PROBE_INTERVAL_MS: '200' })
    await pollUntil('the node to be ready', async () =>
      (await fetch(`${node!.url}/readyz`)).status === 200 ? true : undefined,
    )
    tab = new RecordingEventSource(node!.eventsUrl({ topics: 'news' }), {
      token: await signToken('u1', { topics: ['news'] }),
    })
    await tab.waitForReady()
    const publisher = new HeraldPublisher({ redis: asUser('herald-publisher', 'publisher-password') })
    try {
      await publisher.publish({ user: 'u1' }, null, { n: 1 })
      await publisher.publish({ topic: 'news' }, null, { n: 2 })
    } finally {
      await publisher.close()
    }
    expect((await node!.publish({ user: 'u1', data: { n: 3 } })).status).toBe(200)
    await tab.waitForEvents(3)
    // u1's channel and the topic's are on different shards: live order holds within each, not across them.
    expect(tab.events.map((event) => JSON.parse(event.data).n).sort()).toEqual([1, 2, 3])
    // The node's slots-map reads (every 5 s, from a node picked at random) have reached a replica
    // at least once, where the connection opens with READONLY: allowed or refused, it counts.
    await pollUntil(
      'a slots-map read from a replica',
      async () => {
        const stats = await Promise.all(cluster.replicas.map((replica) => replica.cli('INFO', 'commandstats')))
        return stats.some((text) => /^cmdstat_readonly:/m.test(text)) ? true : undefined
      },
      { timeoutMs: 60_000 },
    )
    for (const server of [...cluster.masters, ...cluster.replicas])
      expect(await server.cli('ACL', 'LOG'), server.url).toBe('')
  })
})
