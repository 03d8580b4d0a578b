/**
 * Stream setups read their streams' tails together, one call per slot. While a slot migrates,
 * Redis refuses a call of several keys that are not all on one side (TRYAGAIN), and ioredis
 * gives up after 16 tries: every stream of that slot opening then was turned away.
 */

import { calculateSlot, pubsubChannel } from '@herald/publisher/internal'
import { pollUntil, type RedisCluster, startRedisCluster } from '@herald/redis-harness'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisBroker } from './redis-broker.js'

const silent = pino({ level: 'silent' })

describe('tails read while their slot migrates', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster()
  })
  afterAll(() => cluster?.stop())

  it('are read for every stream of the slot, one with history and ones without', async () => {
    const broker = new RedisBroker(
      { kind: 'cluster', nodes: cluster.nodes },
      { historyMaxLen: 100, historyTtlSeconds: 3600, idempotencyTtlSeconds: 60 },
      silent,
      { intervalMs: 250, onLatency: () => {}, onRebuild: () => {} },
    )
    try {
      await broker.start({ deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 })
      await pollUntil('broker available', async () => (broker.isAvailable() ? true : undefined))
      // Users whose channels share a slot: one has history, the others none.
      const slot = calculateSlot(pubsubChannel('u:m-0'))
      const users: string[] = []
      for (let n = 0; users.length < 3; n++)
        if (calculateSlot(pubsubChannel(`u:m-${n}`)) === slot) users.push(`u:m-${n}`)
      const [withHistory] = await broker.publish([
        { channelKey: users[0]!, type: undefined, data: '"kept"', idempotencyKey: undefined },
      ])
      const from = await cluster.slotOwner(slot)
      const to = cluster.masters.find((master) => master !== from)!
      let tails: string[] | undefined
      await cluster.moveSlot(slot, to, async () => {
        tails = await Promise.all(users.map((key) => broker.tail(key)))
      })
      // A stream without history goes live from Redis's clock: the tail of a stream that does not exist.
      expect(tails).toEqual([withHistory, expect.stringMatching(/^\d+-0$/), expect.stringMatching(/^\d+-0$/)])
    } finally {
      await broker.close()
    }
  })
})
