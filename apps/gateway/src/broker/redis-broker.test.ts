import type { RedisTarget } from '@herald/publisher'
import { startRedis, startRedisCluster, startRedisSentinel } from '@herald/redis-harness'
import { pino } from 'pino'
import { afterAll, beforeAll, describe } from 'vitest'
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
