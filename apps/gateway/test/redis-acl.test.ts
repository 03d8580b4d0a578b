/**
 * docs/redis-contract.md's least-privilege Redis users, as written there, on a Redis Cluster:
 * a gateway and the publisher SDK work, and Redis refuses none of their commands (`ACL LOG`).
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
    cluster = await startRedisCluster()
    const users = [
      ...(await recipe('herald-gateway', 'gateway-password')),
      ...(await recipe('herald-publisher', 'publisher-password')),
    ]
    // Each user's line for a Cluster, besides its base line (and the publisher's for tail).
    expect(users.filter((args) => args.includes('+cluster|slots'))).toHaveLength(2)
    for (const master of cluster.masters) {
      for (const args of users) expect(await master.cli(...args)).toBe('OK')
      await master.cli('ACL', 'LOG', 'RESET')
    }
  })

  afterAll(async () => {
    tab?.close()
    await stopNodes(node === undefined ? [] : [node])
    await cluster?.stop()
  })

  it('a gateway becomes ready and delivers, and the SDK publishes, with no command refused', async () => {
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
    expect(tab.events.map((event) => JSON.parse(event.data).n)).toEqual([1, 2, 3])
    for (const master of cluster.masters) expect(await master.cli('ACL', 'LOG'), master.url).toBe('')
  })
})
