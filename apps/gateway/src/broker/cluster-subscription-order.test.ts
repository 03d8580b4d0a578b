/**
 * A Cluster's subscription changes reach Redis in the order they were asked for, around a sharded
 * subscriber's reconnect too, and one that failed there leaves nothing behind.
 *
 * ioredis sent a command that met a closed connection again after a slots refresh, 100 ms later
 * and on whichever connection then served its slot: a stream's SUNSUBSCRIBE, sent to the
 * subscriber Redis had just dropped, reached the new one after the next stream's SSUBSCRIBE of
 * the same channel. That stream was live and heard nothing, with readiness 200, until the next
 * reconnect (a black-box run: 2 to 6 channels in several hundred).
 *
 * ioredis also lists a channel as its subscriber group's when it sends the SSUBSCRIBE, and
 * subscribes every listed channel on a replaced subscriber: one whose SSUBSCRIBE met the closed
 * connection was subscribed again for nobody, its stream turned away, and Redis sent this node
 * its traffic for good.
 */

import { calculateSlot, pubsubChannel } from '@herald/publisher'
import { pollUntil, type RedisCluster, startRedisCluster } from '@herald/redis-harness'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerSink, HistoryEntry } from './broker.js'
import { RedisBroker } from './redis-broker.js'

const silent = pino({ level: 'silent' })
const BROKER_OPTIONS = { historyMaxLen: 100, historyTtlSeconds: 3600, idempotencyTtlSeconds: 60 }

describe('a channel changed while its shard subscriber is gone', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster()
  })
  afterAll(() => cluster?.stop())

  /** Each master's count of subscribers to the channel, in the order of `cluster.masters`. */
  const subscribers = async (channelKey: string) =>
    Promise.all(
      cluster.masters.map(async (master) =>
        Number((await master.cli('PUBSUB', 'SHARDNUMSUB', pubsubChannel(channelKey))).split('\n')[1]),
      ),
    )

  /**
   * Starts a broker subscribed to `subscribed`, kills the pubsub connections of the master its
   * channel is on, runs `duringLoss` the moment the node learns of it (before ioredis has replaced
   * the subscriber, as a tab opening or closing during the reconnect does) and `afterResync`
   * once the node is back, its replaced subscriber's round done. `duringLoss` settles to
   * 'answered' or its error's message. Then `subscribed` must be subscribed once, on its master,
   * and be delivered what is published to it.
   */
  async function aroundSubscriberLoss(
    subscribed: string,
    duringLoss: (broker: RedisBroker) => Promise<unknown>,
    afterResync: (broker: RedisBroker, lossChange: Promise<string>) => Promise<void>,
  ): Promise<void> {
    const delivered: HistoryEntry[] = []
    let lossChange: Promise<string> | undefined
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
        if (key === subscribed) delivered.push(entry)
      },
      suspend: () => {
        lossChange ??= duringLoss(broker).then(
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
      await broker.subscribe(subscribed)
      const owner = (await subscribers(subscribed)).indexOf(1)
      await cluster.masters[owner]!.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      await back
      await afterResync(broker, lossChange!)
      expect(await subscribers(subscribed)).toEqual(cluster.masters.map((_, at) => (at === owner ? 1 : 0)))
      await broker.publish([{ channelKey: subscribed, type: undefined, data: '"after"', idempotencyKey: undefined }])
      await pollUntil('the entry delivered', async () => (delivered.length === 1 ? true : undefined), {
        timeoutMs: 5_000,
      })
    } finally {
      await broker.close()
    }
  }

  it('stays subscribed when left and joined again: the leaving does not land after the joining', async () => {
    const channelKey = 'u:rejoined'
    await aroundSubscriberLoss(
      channelKey,
      (broker) => broker.unsubscribe(channelKey),
      async (broker, leaving) => {
        // The next stream of the channel joins as soon as the node is back.
        await broker.subscribe(channelKey)
        // It met the closed connection (the scenario), and failed there rather than being sent again.
        expect(await leaving).toBe('Connection is closed.')
      },
    )
  })

  it('is not subscribed for nobody when joined and turned away', async () => {
    const held = 'u:held'
    // A channel in the held one's slot, so its SSUBSCRIBE goes to the subscriber Redis dropped.
    let joined = 'u:joined-0'
    for (let n = 1; calculateSlot(pubsubChannel(joined)) !== calculateSlot(pubsubChannel(held)); n++)
      joined = `u:joined-${n}`
    await aroundSubscriberLoss(
      held,
      (broker) => broker.subscribe(joined),
      async (_broker, joining) => {
        // It met the closed connection (the scenario), and its stream was turned away.
        expect(await joining).toBe('Connection is closed.')
        // The replaced subscriber subscribed what ioredis listed for the slot before the node was back.
        await pollUntil(
          'the turned-away channel unsubscribed',
          async () => ((await subscribers(joined)).every((count) => count === 0) ? true : undefined),
          { timeoutMs: 5_000 },
        )
      },
    )
  })
})
