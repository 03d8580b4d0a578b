/**
 * Faults of a Redis Cluster under two gateway processes: every sharded subscriber
 * connection killed, and a master failed over to its replica (by `CLUSTER FAILOVER`
 * and by killing it) while publishing. Every published message is counted.
 */

import { HeraldPublisher } from '@herald/publisher'
import { type RedisCluster, type RedisServer, startRedisCluster } from '@herald/redis-harness'
import { afterEach, describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken } from '../harness.js'
import { type GatewayNode, startNodes, stopNodes } from '../redis-nodes.js'
import { atScale, faultPoints, SCENARIO_TIMEOUT_MS } from './scale.js'
import { DeliveryLedger, expectExact, publishCounted, settle } from './scenario.js'

// Six users hash to slots on every master.
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']

describe('faults of a Redis Cluster while publishing', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  let cluster: RedisCluster
  let nodes: GatewayNode[] = []
  let publisher: HeraldPublisher | undefined
  let clients: RecordingEventSource[] = []
  afterEach(async () => {
    for (const client of clients) client.close()
    await publisher?.close()
    await stopNodes(nodes)
    await cluster.stop()
  })

  /** A cluster, two nodes on it, and a tab per user on each node, counted in `ledger`. */
  async function start(ledger: DeliveryLedger, replicasPerMaster: number): Promise<void> {
    cluster = await startRedisCluster({ replicasPerMaster })
    nodes = await startNodes(cluster.url, 2, { PUBSUB_PROBE_INTERVAL_MS: '100' })
    clients = []
    for (const [i, node] of nodes.entries()) {
      for (const user of USERS) {
        const client = new RecordingEventSource(node.eventsUrl(), { token: await signToken(user) })
        clients.push(client)
        ledger.track(`node${i}/${user}`, client)
      }
    }
    await Promise.all(clients.map((client) => client.waitForReady()))
  }

  const publishToEveryUser = (n: number) =>
    publisher!.publishBatch(USERS.map((user) => ({ target: { user }, data: n, idempotencyKey: `m${n}` })))

  it('catches every channel up when the subscriber connections are killed: every message once, in order', async () => {
    const ledger = new DeliveryLedger('cluster: subscriber connections killed')
    await start(ledger, 0)
    publisher = new HeraldPublisher({ redis: cluster.url })
    const total = atScale(1000, 6000)
    const kills = new Set(faultPoints(total, atScale(1, 4)))
    await publishCounted(ledger, total, 1000, async (n) => {
      await publishToEveryUser(n)
      if (kills.delete(n)) {
        await Promise.all(cluster.masters.map((master) => master.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')))
      }
    })
    expectExact(await settle(ledger, clients))
  })

  it('loses nothing replicated when a master fails over to its replica, and never leaves a silent gap', async () => {
    const ledger = new DeliveryLedger('cluster: master failover')
    await start(ledger, 1)
    publisher = new HeraldPublisher({ redis: cluster.url, waitForReplicas: { replicas: 1, timeoutMs: 500 } })
    const total = atScale(1200, 6000)
    // A master killed, then another handed over by CLUSTER FAILOVER (a second failover once left the
    // publisher sending to a slot's old node for good); the full run kills the third too.
    const rounds: Array<{ at: number; master: RedisServer; how: 'kill' | 'takeover' }> = faultPoints(
      total,
      atScale(2, 3),
    ).map((at, i) => ({ at, master: cluster.masters[i]!, how: i % 2 === 0 ? 'kill' : 'takeover' }))
    let failedOver: Promise<unknown> = Promise.resolve()
    await publishCounted(
      ledger,
      total,
      500,
      async (n) => {
        const round = rounds.find((r) => r.at === n)
        if (round !== undefined) {
          rounds.splice(rounds.indexOf(round), 1)
          // A killed master comes back as a replica of its successor, so its shard can confirm writes again.
          failedOver = cluster
            .failover(round.master, round.how)
            .then(() => (round.how === 'kill' ? round.master.restart() : undefined))
        }
        await publishToEveryUser(n)
      },
      // During the switch publishes fail or are not replicated in time: send them again with the
      // same idempotency keys. A failed attempt may have reached subscribers before the master
      // died, and its idempotency key may have died with it, so a retried message may arrive twice.
      () => failedOver,
    )
    await failedOver
    const figures = await settle(ledger, clients, 60_000)
    expect(figures.lost).toBe(0)
    expect(figures.outOfOrder).toBe(0)
    for (const client of figures.perClient) {
      for (const n of client.duplicatedIds) expect(ledger.retriedIds).toContain(n)
    }
  })
})
