/**
 * Faults of a Redis Cluster under two gateway processes: every sharded subscriber
 * connection killed, one shard's subscriptions dropped without a sign, a slot moved
 * to another master, and a master failed over to its replica (by `CLUSTER FAILOVER`
 * and by killing it) while publishing. Every published message is counted.
 */

import { execFile } from 'node:child_process'
import { HeraldPublisher } from '@herald/publisher'
import { ownedSlots, pollUntil, type RedisCluster, type RedisServer, startRedisCluster } from '@herald/redis-harness'
import { afterEach, describe, expect, it } from 'vitest'
import type { RecordingEventSource } from '../harness.js'
import { type GatewayNode, startNodes, stopNodes } from '../redis-nodes.js'
import { atScale, SCENARIO_TIMEOUT_MS } from './scale.js'
import { DeliveryLedger, expectExact, expectNoSilentLoss, openTabs, publishThroughFaults, settle } from './scenario.js'

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

  /** A cluster, two nodes on it, a tab per user on each node, counted in `ledger`, and a publisher. */
  async function start(ledger: DeliveryLedger, replicasPerMaster: number): Promise<void> {
    cluster = await startRedisCluster({ replicasPerMaster, nodeTimeoutMs: 2000 })
    // Short, to keep the suite quick, but not 100 ms: a node's INFO waits one interval, and on a
    // loaded CI machine one took longer during a reshard, so its channels counted as stuck after
    // five (the subscriber was rebuilt, which the resharding test says must not be needed).
    nodes = await startNodes(cluster.url, 2, { PUBSUB_PROBE_INTERVAL_MS: '250' })
    clients = await openTabs(ledger, nodes, USERS)
    // With replicas, a publish counts once a replica has it too.
    const waitForReplicas = replicasPerMaster > 0 ? { waitForReplicas: { replicas: 1, timeoutMs: 500 } } : {}
    publisher = new HeraldPublisher({ redis: cluster.url, ...waitForReplicas })
  }

  /** Publishes `count` messages to every user, at `perSecond`, while `fault` runs `rounds` times. */
  const publishToEveryUser = (
    ledger: DeliveryLedger,
    count: number,
    perSecond: number,
    rounds: number,
    fault: (round: number) => Promise<unknown>,
  ) =>
    publishThroughFaults(ledger, count, perSecond, rounds, fault, (n) =>
      publisher!.publishBatch(USERS.map((user) => ({ target: { user }, data: n, idempotencyKey: `m${n}` }))),
    )

  it('catches every channel up when the subscriber connections are killed: every message once, in order', async () => {
    const ledger = new DeliveryLedger('cluster: subscriber connections killed')
    await start(ledger, 0)
    await publishToEveryUser(ledger, atScale(1000, 6000), 1000, atScale(1, 4), () =>
      Promise.all(cluster.masters.map((master) => master.cli('CLIENT', 'KILL', 'TYPE', 'pubsub'))),
    )
    expectExact(await settle(ledger, clients))
  })

  it('recovers the subscriptions a shard drops in place (slots given up and taken back): every message once, in order', async () => {
    const ledger = new DeliveryLedger('cluster: one shard unsubscribed in place')
    await start(ledger, 0)
    await publishToEveryUser(ledger, atScale(600, 3000), 500, 1, async () => {
      // A master that gives its slots up drops every shard-channel subscription in them, as a demoted
      // master does; taking them straight back leaves the connections up and the topology as it
      // was. Redis tells each subscriber by a SUNSUBSCRIBE it did not ask for, and the node
      // subscribes those channels again and catches them up. A map read that lands between the
      // two commands sees a master without slots, whose subscriber ioredis drops: that node
      // rebuilds its subscriber instead, and loses nothing either.
      const master = cluster.masters[1]!
      const ranges = ownSlotRanges(await master.cli('CLUSTER', 'NODES'))
      await master.cli('CLUSTER', 'DELSLOTSRANGE', ...ranges)
      await master.cli('CLUSTER', 'ADDSLOTSRANGE', ...ranges)
      await Promise.all(nodes.map((node) => node.process.waitForOutput(/redis dropped subscriptions in place/)))
    })
    expectExact(await settle(ledger, clients))
  })

  it('catches a channel up when its slot moves to another master (resharding): every message once, in order', async () => {
    const ledger = new DeliveryLedger('cluster: a slot moved to another master')
    await start(ledger, 0)
    const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', '{u:u1}'))
    const from = await cluster.slotOwner(slot)
    const to = cluster.masters.find((master) => master !== from)!
    let acknowledged = 0
    // While the slot migrates, a publish reaches the new owner by an ASK redirection, and with it
    // the announcement, which no node hears until its subscriber follows the slot there. Messages
    // carry no idempotency key: with one, a publish would touch a key not yet in the new owner,
    // which Redis refuses (TRYAGAIN) until the move ends, and the move waits for publishes here.
    await publishThroughFaults(
      ledger,
      atScale(600, 3000),
      300,
      1,
      () =>
        cluster.moveSlot(slot, to, () => {
          const before = acknowledged
          return pollUntil('messages published while the slot migrates', async () =>
            acknowledged >= before + 30 ? true : undefined,
          )
        }),
      async (n) => {
        await Promise.all(USERS.map((user) => publisher!.publish({ user }, null, n, null)))
        acknowledged += 1
      },
    )
    expectExact(await settle(ledger, clients))
    expectOnlyMovedChannelsHeld()
  })

  it("keeps the rest live and the nodes ready while a reshard moves a master's slots: every message once, in order", async () => {
    const ledger = new DeliveryLedger('cluster: a master resharded away')
    await start(ledger, 0)
    // One master's slots but its last, one by one, as redis-cli moves them (lowest first): the users
    // on it move. (Moving its last slot too takes the master out of the slots map, and ioredis
    // drops its subscriber: a lost subscriber, caught up like any other.)
    const [from, to] = cluster.masters as [RedisServer, RedisServer]
    const [fromId, toId] = await Promise.all([from.cli('CLUSTER', 'MYID'), to.cli('CLUSTER', 'MYID')])
    const slots = (await ownedSlots(from)).size - 1
    await publishThroughFaults(
      ledger,
      atScale(3000, 9000),
      300,
      1,
      () => reshard(from, fromId, toId, slots),
      (n) => Promise.all(USERS.map((user) => publisher!.publish({ user }, null, n, null))),
    )
    expectExact(await settle(ledger, clients))
    expectOnlyMovedChannelsHeld()
  })

  /** Each node held the moved channels alone: it never suspended everything nor rebuilt its subscriber. */
  function expectOnlyMovedChannelsHeld(): void {
    for (const node of nodes) {
      const output = node.process.output()
      expect(output).toMatch(/redis cluster slots moved; holding their channels until caught up/)
      const warnings = output.split('\n').filter((line) => line.includes('"level":40'))
      expect(output, warnings.join('\n')).not.toMatch(
        /holding live delivery until it is back|subscriber stuck|resubscribing every channel/,
      )
    }
  }

  it('loses nothing when masters are handed over by CLUSTER FAILOVER one after another: every message once, in order', async () => {
    const ledger = new DeliveryLedger('cluster: planned failovers')
    await start(ledger, 1)
    // The demoted master drops its shard subscriptions as it becomes a replica, and the slots map
    // a node reads next may still name it: a subscription made there takes no messages until its
    // new master counts it as a replica. Each shard in turn, and back again.
    const masters = [...cluster.masters]
    await publishToEveryUser(ledger, atScale(4800, 12_000), 400, atScale(9, 24), async (round) => {
      const shard = round % masters.length
      masters[shard] = await cluster.failover(masters[shard]!, 'takeover')
    })
    expectExact(await settle(ledger, clients, 60_000))
  })

  it('loses nothing replicated when a master fails over to its replica, and never leaves a silent gap', async () => {
    const ledger = new DeliveryLedger('cluster: master failover')
    await start(ledger, 1)
    // CI kills one master; a killed master comes back as a replica of its successor, so its shard can
    // confirm writes again. The full run also hands one over by CLUSTER FAILOVER and kills a third (a
    // second failover once left the publisher sending to a slot's old node for good). During each
    // switch publishes fail or are not replicated in time: they are sent again with the same
    // idempotency keys.
    const how = atScale(['kill'], ['kill', 'takeover', 'kill'] as const)
    await publishToEveryUser(ledger, atScale(1200, 6000), 500, how.length, async (round) => {
      const master = cluster.masters[round]!
      if (how[round] === 'takeover') return cluster.failover(master, 'takeover')
      await cluster.failover(master, 'kill')
      await master.restart()
    })
    expectNoSilentLoss(await settle(ledger, clients, 60_000), ledger)
  })

  it('follows a failover away from a master that hangs, delivering from the new one before the old wakes', async () => {
    const ledger = new DeliveryLedger('cluster: a master hangs')
    // Two replicas a master: the promoted one still has a replica to confirm writes.
    await start(ledger, 2)
    const hung = cluster.masters[0]!
    await publishToEveryUser(ledger, atScale(1200, 4000), 200, 1, async () => {
      // Stopped, its connections stay open and nothing on them is answered: no MOVED, no close.
      await cluster.failover(hung, 'stop')
      // Ready again, each node with its shard subscriptions on the new master.
      await Promise.all(
        nodes.map((node) =>
          pollUntil('the node to follow the new master', async () =>
            (await fetch(`${node.url}/readyz`)).status === 200 ? true : undefined,
          ),
        ),
      )
    })
    // Every acknowledged message reached every tab while the old master still hangs.
    expectNoSilentLoss(await settle(ledger, clients, 60_000), ledger)
    expect(hung.pid, 'the old master is still stopped').toBeDefined()
  })
})

/** `redis-cli --cluster reshard`, moving `slots` slots from `fromId` to `toId`; rejects if it fails. */
function reshard(node: RedisServer, fromId: string, toId: string, slots: number): Promise<void> {
  const args = ['--cluster', 'reshard', `${node.host}:${node.port}`, '--cluster-from', fromId, '--cluster-to', toId]
  args.push('--cluster-slots', String(slots), '--cluster-yes')
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      if (error) reject(new Error(`redis-cli ${args.join(' ')}: ${error.message} ${stdout.slice(-500)}`))
      else resolve()
    })
  })
}

/** The slot ranges the node answering `CLUSTER NODES` serves, as `start end` pairs for `CLUSTER *SLOTSRANGE`. */
function ownSlotRanges(clusterNodes: string): string[] {
  const myself = clusterNodes.split('\n').find((line) => line.includes('myself'))
  const ranges = myself?.split(' ').slice(8) ?? []
  if (ranges.length === 0) throw new Error(`no slots in ${clusterNodes}`)
  return ranges.flatMap((range) => {
    const [start, end = start] = range.split('-')
    return [start!, end!]
  })
}
