/**
 * A Cluster's subscription changes reach Redis in the order they were asked for, around a sharded
 * subscriber's reconnect too, and one that failed leaves nothing behind.
 *
 * ioredis sent a command that met a closed connection again after a slots refresh, 100 ms later
 * and on whichever connection then served its slot: a stream's SUNSUBSCRIBE, sent to the
 * subscriber Redis had just dropped, reached the new one after the next stream's SSUBSCRIBE of
 * the same channel. That stream was live and heard nothing, with readiness 200, until the next
 * reconnect (a black-box run: 2 to 6 channels in several hundred).
 *
 * ioredis also lists a channel as its subscriber group's each time it sends the SSUBSCRIBE, and a
 * replaced subscriber subscribes every listed channel. One whose SSUBSCRIBE Redis refused, or
 * which a MOVED sent on after its stream had left and which failed there, was subscribed later
 * for nobody, and Redis sent the node its traffic for good.
 */

import { calculateSlot, pubsubChannel } from '@herald/publisher/internal'
import { pollUntil, type RedisCluster, type RedisServer, startRedisCluster } from '@herald/redis-harness'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resyncWatchingSink } from './broker.contract.js'
import type { HistoryEntry } from './broker.js'
import { RedisBroker } from './redis-broker.js'

const silent = pino({ level: 'silent' })
const BROKER_OPTIONS = { historyMaxLen: 100, historyTtlSeconds: 3600, idempotencyTtlSeconds: 60 }

describe("a Cluster channel's subscription, changed around a lost subscriber, a refusal or a moved slot", () => {
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
    const broker: RedisBroker = new RedisBroker({ kind: 'cluster', nodes: cluster.nodes }, BROKER_OPTIONS, silent, {
      intervalMs: 250,
      onLatency: () => {},
      onRebuild: () => {},
    })
    const watching = resyncWatchingSink({
      deliver: (key, entry) => {
        if (key === subscribed) delivered.push(entry)
      },
      suspend: () => {
        lossChange ??= duringLoss(broker).then(
          () => 'answered',
          (error: Error) => error.message,
        )
      },
    })
    const back = watching.nextResync()
    try {
      await broker.start(watching.sink)
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

  /**
   * A broker on a Redis user of its own runs `refuse` while `refusing` refuses that user every
   * channel but the probes', as a master whose ACL differs from the others' would (channel
   * permissions are per server in a Cluster). Then the refusal is lifted and that master's
   * subscriber replaced, which subscribes, before the node is back, every channel ioredis lists
   * for its slots: `channelKey`, which nobody wants, must be subscribed nowhere.
   */
  async function afterRefusal(
    channelKey: string,
    refusing: RedisServer,
    refuse: (broker: RedisBroker) => Promise<void>,
  ): Promise<void> {
    const [username, password] = ['herald-order-test', 'order-test-password']
    for (const master of cluster.masters)
      await master.cli('ACL', 'SETUSER', username, 'on', `>${password}`, '~*', '&*', '+@all', 'allchannels')
    const watching = resyncWatchingSink()
    const broker = new RedisBroker(
      { kind: 'cluster', nodes: cluster.nodes, username, password },
      BROKER_OPTIONS,
      silent,
      {
        intervalMs: 250,
        onLatency: () => {},
        onRebuild: () => {},
      },
    )
    try {
      await broker.start(watching.sink)
      await pollUntil('broker available', async () => (broker.isAvailable() ? true : undefined))
      await refusing.cli('ACL', 'SETUSER', username, 'resetchannels', '&herald:{probe:*')
      await refuse(broker)
      await refusing.cli('ACL', 'SETUSER', username, 'allchannels')
      const back = watching.nextResync()
      await refusing.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      await back
      expect(await subscribers(channelKey)).toEqual([0, 0, 0])
    } finally {
      await broker.close()
    }
  }

  it('is not subscribed for nobody after Redis refused its subscribe', async () => {
    const refused = 'u:refused'
    await afterRefusal(refused, await cluster.slotOwner(calculateSlot(pubsubChannel(refused))), async (broker) => {
      // Its stream is turned away, and resumes on another node.
      await expect(broker.subscribe(refused)).rejects.toThrow(/NOPERM/)
    })
  })

  it('is not subscribed for nobody after its subscribe, sent on from a slot that moved, failed after its stream left', async () => {
    const channelKey = 'u:moving'
    const slot = calculateSlot(pubsubChannel(channelKey))
    const from = await cluster.slotOwner(slot)
    const to = cluster.masters.find((master) => master !== from)!
    await afterRefusal(channelKey, to, async (broker) => {
      // The slot moves with nothing of it subscribed, so nothing tells the client: its map is stale.
      await cluster.moveSlot(slot, to)
      // The tab's SSUBSCRIBE and the SUNSUBSCRIBE of the tab closing at once go out together, by
      // the stale map to the old owner, which answers both MOVED. ioredis sends the SSUBSCRIBE on
      // to the new owner once it has read the map, listing its channel again, and it is refused
      // there. (Before the patch that makes it wait for the map, it went to the old owner again
      // until the redirections ran out, on a busy host: a failure all the same.)
      const joining = broker.subscribe(channelKey).then(
        () => 'answered',
        (error: Error) => error.message,
      )
      await broker.unsubscribe(channelKey)
      expect(await joining).toMatch(/^NOPERM/)
    })
  })

  it('subscribes the channels of a moved slot on its new master in one SSUBSCRIBE, and catches them up', async () => {
    // Forty users whose channels share one slot, found by name.
    const slot = calculateSlot(pubsubChannel('u:same-slot-0'))
    const keys: string[] = []
    for (let n = 0; keys.length < 40; n++) {
      const key = `u:same-slot-${n}`
      if (calculateSlot(pubsubChannel(key)) === slot) keys.push(key)
    }
    const watching = resyncWatchingSink()
    const broker = new RedisBroker({ kind: 'cluster', nodes: cluster.nodes }, BROKER_OPTIONS, silent)
    try {
      await broker.start(watching.sink)
      await pollUntil('broker available', async () => (broker.isAvailable() ? true : undefined))
      await Promise.all(keys.map((key) => broker.subscribe(key)))
      const from = await cluster.slotOwner(slot)
      const target = cluster.masters.find((master) => master !== from)!
      await target.cli('CONFIG', 'RESETSTAT')
      const caughtUp = watching.nextResync()
      await cluster.moveSlot(slot, target)
      await caughtUp
      const stats = await target.cli('INFO', 'commandstats')
      // One for the forty channels (one each was 41 calls here: another SSUBSCRIBE reaches the
      // master around a move, whichever way the channels go).
      expect(Number(/cmdstat_ssubscribe:calls=(\d+)/.exec(stats)?.[1])).toBeLessThanOrEqual(2)
      for (const key of keys) expect(await subscribers(key)).toEqual(cluster.masters.map((m) => (m === target ? 1 : 0)))
    } finally {
      await broker.close()
    }
  })
})
