/**
 * A Cluster's subscription changes reach Redis in the order they were asked for, around a sharded
 * subscriber's reconnect too. ioredis sent a command that met a closed connection again after a
 * slots refresh, 100 ms later and on whichever connection then served its slot: a stream's
 * SUNSUBSCRIBE, sent to the subscriber Redis had just dropped, reached the new one after the next
 * stream's SSUBSCRIBE of the same channel. That stream was live and heard nothing, with readiness
 * 200, until the next reconnect (a black-box run: 2 to 6 channels in several hundred).
 */

import { pubsubChannel } from '@herald/publisher'
import { pollUntil, type RedisCluster, startRedisCluster } from '@herald/redis-harness'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerSink, HistoryEntry } from './broker.js'
import { RedisBroker } from './redis-broker.js'

const silent = pino({ level: 'silent' })
const BROKER_OPTIONS = { historyMaxLen: 100, historyTtlSeconds: 3600, idempotencyTtlSeconds: 60 }

describe('a channel left while its shard subscriber is gone, and joined again', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster()
  })
  afterAll(() => cluster?.stop())

  it('stays subscribed: the leaving does not land after the joining', async () => {
    const channelKey = 'u:rejoined'
    const delivered: HistoryEntry[] = []
    let leaving: Promise<unknown> | undefined
    let resynced: () => void = () => {}
    const back = new Promise<void>((resolve) => {
      resynced = resolve
    })
    const broker: RedisBroker = new RedisBroker({ kind: 'cluster', nodes: cluster.nodes }, BROKER_OPTIONS, silent, {
      intervalMs: 250,
      onLatency: () => {},
      onRebuild: () => {},
    })
    const sink: BrokerSink = {
      deliver: (key, entry) => {
        if (key === channelKey) delivered.push(entry)
      },
      // The stream leaves the moment the node learns its shard subscriber is gone, before ioredis
      // has replaced it, as a tab closing during the reconnect does.
      suspend: () => {
        leaving ??= broker.unsubscribe(channelKey).then(
          () => 'answered',
          (error: Error) => error.message,
        )
      },
      hold: () => {},
      resync: async () => {
        resynced()
        return 0
      },
    }
    try {
      await broker.start(sink)
      await pollUntil('broker available', async () => (broker.isAvailable() ? true : undefined))
      await broker.subscribe(channelKey)
      const channel = pubsubChannel(channelKey)
      const subscribers = async () =>
        Promise.all(
          cluster.masters.map(async (master) =>
            Number((await master.cli('PUBSUB', 'SHARDNUMSUB', channel)).split('\n')[1]),
          ),
        )
      const owner = cluster.masters[(await subscribers()).indexOf(1)]!
      await owner.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      await back
      // The next stream of the channel joins as soon as the node is back.
      await broker.subscribe(channelKey)
      // It met the closed connection (the scenario), and failed there rather than being sent again.
      expect(await leaving).toBe('Connection is closed.')
      expect(await subscribers()).toEqual(cluster.masters.map((master) => (master === owner ? 1 : 0)))
      await broker.publish([{ channelKey, type: undefined, data: '"after"', idempotencyKey: undefined }])
      await pollUntil('the entry delivered', async () => (delivered.length === 1 ? true : undefined), {
        timeoutMs: 5_000,
      })
    } finally {
      await broker.close()
    }
  })
})
