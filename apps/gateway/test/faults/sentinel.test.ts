/**
 * A Redis Sentinel failover (and, at full scale, failing back and forth) under two
 * gateway processes while publishing; and a failover announced while a gateway's
 * connections are looking the master up. Every published message is counted.
 */

import { HeraldPublisher } from '@herald/publisher'
import { pollUntil, startRedisSentinel, untilSubscribedClients } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import { metric, startNodes, stopNodes } from '../redis-nodes.js'
import { atScale, SCENARIO_TIMEOUT_MS } from './scale.js'
import { DeliveryLedger, expectNoSilentLoss, openTabs, publishThroughFaults, settle } from './scenario.js'

describe('a Sentinel failover during publishing', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  it('loses nothing the publisher was told is replicated, and never leaves a silent gap', async () => {
    const ledger = new DeliveryLedger('sentinel: failover')
    const setup = await startRedisSentinel()
    const nodes = await startNodes(setup.url, 2)
    const publisher = new HeraldPublisher({ redis: setup.url, waitForReplicas: { replicas: 1, timeoutMs: 500 } })
    const clients = await openTabs(ledger, nodes, ['frank'])
    try {
      // During each switch publishes fail or are not replicated in time: they are sent again.
      await publishThroughFaults(
        ledger,
        atScale(1200, 5000),
        500,
        atScale(1, 3),
        () => setup.failover(),
        (n) => publisher.publish({ user: 'frank' }, undefined, n, { idempotencyKey: `m${n}` }),
      )
      expectNoSilentLoss(await settle(ledger, clients, 60_000), ledger)
    } finally {
      for (const client of clients) client.close()
      await publisher.close()
      await stopNodes(nodes)
      await setup.stop()
    }
  })
})

describe('a Sentinel failover announced while the gateway looks the master up', {
  timeout: SCENARIO_TIMEOUT_MS,
}, () => {
  it('reconnects every connection to the new master: ready again, and the open stream gets every message', async () => {
    const ledger = new DeliveryLedger('sentinel: failover during the reconnect lookup')
    const setup = await startRedisSentinel()
    const [, replica] = setup.servers
    const [node] = await startNodes(setup.url, 1, { PUBSUB_PROBE_INTERVAL_MS: '100' })
    const clients = await openTabs(ledger, [node!], ['grace'])
    const publish = async (n: number) => {
      for (;;) {
        const response = await node!.publish({ user: 'grace', data: n, idempotencyKey: `m${n}` })
        if (response.ok) return ledger.published(n)
        ledger.retried(n)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    try {
      // Each of the node's three connections has its failover detector subscribed on every Sentinel.
      for (const sentinel of setup.sentinels) {
        await untilSubscribedClients(sentinel, (count) => count >= 3, 'three +switch-master subscribers')
      }
      for (let n = 0; n < 10; n++) await publish(n)
      // Every reconnect's lookup waits on the stopped first Sentinel while the others fail the master
      // over and announce it, and the node's failover detectors hear it.
      const lookups = await setup.failOverDuringLookups()
      lookups.resume()
      await pollUntil(
        'the node ready again',
        async () => ((await fetch(`${node!.url}/readyz`)).ok ? true : undefined),
        { timeoutMs: 30_000 },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; node output: ${node!.process.output().slice(-3000)}`)
      })
      expect(await metric(node!, 'herald_redis_up')).toBe(1)
      for (let n = 10; n < 20; n++) await publish(n)
      expect(await replica!.cli('ROLE')).toMatch(/^master/)
      expectNoSilentLoss(await settle(ledger, clients), ledger)
    } finally {
      for (const client of clients) client.close()
      await stopNodes([node!])
      await setup.stop()
    }
  })
})
