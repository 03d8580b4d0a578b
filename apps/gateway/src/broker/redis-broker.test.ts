import { pubsubChannel, type RedisTarget } from '@herald/publisher'
import { pollUntil, startRedis, startRedisCluster, startRedisSentinel } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBrokerContract } from './broker.contract.js'
import { RedisBroker } from './redis-broker.js'

const silent = pino({ level: 'silent' })

/** Runs the shared broker contract against a real Redis of one topology. */
function describeOn(name: string, start: () => Promise<{ target: RedisTarget; stop(): Promise<void> }>): void {
  describe(name, () => {
    let redis: { target: RedisTarget; stop(): Promise<void> }
    beforeAll(async () => {
      redis = await start()
    })
    afterAll(() => redis.stop())
    describeBrokerContract(`redis ${name}`, async (options) => new RedisBroker(redis.target, options, silent))
  })
}

describeOn('standalone', async () => {
  const server = await startRedis()
  return { target: { kind: 'standalone', url: server.url }, stop: () => server.stop() }
})

describeOn('cluster of 3 masters', async () => {
  const cluster = await startRedisCluster()
  return { target: { kind: 'cluster', nodes: cluster.nodes }, stop: () => cluster.stop() }
})

describeOn('sentinel', async () => {
  const setup = await startRedisSentinel()
  return {
    target: { kind: 'sentinel', sentinels: setup.sentinels, masterName: setup.masterName },
    stop: () => setup.stop(),
  }
})

describe('redis broker subscriptions', () => {
  it("sends one SSUBSCRIBE for a turn's channels and one SUNSUBSCRIBE for their leaving", async () => {
    const server = await startRedis()
    const admin = new Redis(server.url)
    const broker = new RedisBroker({ kind: 'standalone', url: server.url }, BROKER_OPTIONS, silent)
    try {
      await broker.start({ deliver: () => {}, suspend: () => {}, resync: async () => {} })
      const channels = Array.from({ length: 50 }, (_, n) => `u:storm-${n}`)
      // The broker's own probe subscription is made once it is ready; counting starts after it.
      await pollUntil('probe subscribed', async () => {
        const probes = (await admin.call('PUBSUB', 'SHARDCHANNELS', 'herald:{probe:*')) as string[]
        return probes.length === 1 ? true : undefined
      })
      await admin.config('RESETSTAT')
      await Promise.all(channels.map((channel) => broker.subscribe(channel)))
      await Promise.all(channels.map((channel) => broker.unsubscribe(channel)))
      const stats = await admin.info('commandstats')
      expect(/cmdstat_ssubscribe:calls=(\d+)/.exec(stats)?.[1]).toBe('1')
      expect(/cmdstat_sunsubscribe:calls=(\d+)/.exec(stats)?.[1]).toBe('1')
      const shardChannels = channels.map(pubsubChannel)
      expect(await admin.call('PUBSUB', 'SHARDNUMSUB', ...shardChannels)).toEqual(
        shardChannels.flatMap((channel) => [channel, 0]),
      )
    } finally {
      await broker.close()
      admin.disconnect()
      await server.stop()
    }
  })

  it('undoes an SSUBSCRIBE that ioredis resends after a reconnect, for a channel no stream wants any more', async () => {
    const server = await startRedis()
    let suspended!: () => void
    const suspension = new Promise<void>((resolve) => {
      suspended = resolve
    })
    const broker = new RedisBroker({ kind: 'standalone', url: server.url }, BROKER_OPTIONS, silent)
    try {
      await broker.start({ deliver: () => {}, suspend: () => suspended(), resync: async () => {} })
      const channel = pubsubChannel('u:gone')
      // Stopped: the SSUBSCRIBE is sent and never answered, so it is in flight when the connection drops.
      process.kill(server.pid!, 'SIGSTOP')
      const subscribing = broker.subscribe('u:gone').then(
        () => 'subscribed',
        () => 'failed',
      )
      await server.restart()
      // The stream that wanted it leaves while the subscriber reconnects: nothing to unsubscribe from yet.
      await suspension
      await broker.unsubscribe('u:gone')
      // ioredis resends the SSUBSCRIBE once connected again, and it is answered.
      expect(await subscribing).toBe('subscribed')
      const admin = new Redis(server.url)
      try {
        await pollUntil('the resent subscription undone', async () => {
          const [, subscribers] = (await admin.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number]
          return subscribers === 0 ? true : undefined
        })
      } finally {
        admin.disconnect()
      }
    } finally {
      await broker.close()
      await server.stop()
    }
  })
})

const BROKER_OPTIONS = { historyMaxLen: 100, historyTtlSeconds: 3600, idempotencyTtlSeconds: 60 }
