/**
 * A Redis Sentinel failover (and, at full scale, failing back and forth) under two
 * gateway processes while publishing. Every published message is counted.
 */

import { HeraldPublisher } from '@herald/publisher'
import { startRedisSentinel } from '@herald/redis-harness'
import { describe, it } from 'vitest'
import { startNodes, stopNodes } from '../redis-nodes.js'
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
