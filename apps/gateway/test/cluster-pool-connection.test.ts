/**
 * The subscriber's Cluster client has, besides one sharded subscriber per master, a
 * connection pool it only reads the slots map with. Losing a pool connection (a master
 * removed from the cluster, whose connection the next map read drops; a killed connection)
 * is no lost subscription: the node keeps delivering and stays ready.
 */

import { HeraldPublisher } from '@herald/publisher'
import { pollUntil, type RedisCluster, startRedisCluster } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken } from './harness.js'
import { type GatewayNode, metric, startNodes, stopNodes } from './redis-nodes.js'

describe("a Redis Cluster connection the subscriber's client only reads the slots map with", () => {
  let cluster: RedisCluster
  let node: GatewayNode
  let publisher: HeraldPublisher
  let tab: RecordingEventSource | undefined

  beforeAll(async () => {
    cluster = await startRedisCluster()
    ;[node] = (await startNodes(cluster.url, 1, { PUBSUB_PROBE_INTERVAL_MS: '1000' })) as [GatewayNode]
    publisher = new HeraldPublisher({ redis: cluster.url })
  })

  afterAll(async () => {
    tab?.close()
    await publisher?.close()
    await stopNodes(node === undefined ? [] : [node])
    await cluster?.stop()
  })

  it('is lost without holding live delivery or failing readiness', async () => {
    tab = new RecordingEventSource(node.eventsUrl(), { token: await signToken('p1') })
    await tab.waitForReady()
    // The pool's connections are named as the client; its sharded subscribers' names say so.
    const pool = await Promise.all(
      cluster.masters.map(async (master) => {
        const lines = (await master.cli('CLIENT', 'LIST')).split('\n')
        return {
          master,
          ids: lines.filter((l) => / name=herald-subscriber /.test(l)).map((l) => /^id=(\d+)/.exec(l)![1]!),
        }
      }),
    )
    const killed = pool.filter(({ ids }) => ids.length > 0)
    expect(killed.length).toBeGreaterThan(0)
    const logged = node.process.output().length
    const probesBefore = await metric(node, 'herald_pubsub_probe_latency_seconds_count')
    for (const { master, ids } of killed) for (const id of ids) await master.cli('CLIENT', 'KILL', 'ID', id)

    // Two probe rounds later, the lost connection has long been reported ('-node', at once).
    await pollUntil('two more probe round trips', async () =>
      (await metric(node, 'herald_pubsub_probe_latency_seconds_count')) >= probesBefore + 2 ? true : undefined,
    )
    expect(node.process.output().slice(logged)).not.toMatch(/redis subscriber lost|holding live delivery/)
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200)
    await publisher.publish({ user: 'p1' }, undefined, 'live')
    await tab.waitForEvents(1)
    expect(tab.payloads()).toEqual(['live'])
  })
})
