/**
 * A Sentinel client made by createRedisClient follows a failover announced while it is
 * reconnecting. ioredis's failover detector, left over from the lost connection, cancelled the
 * reconnect's Sentinel lookup when `+switch-master` arrived during it, and the client ended for good.
 */

import { pollUntil, startRedisSentinel, untilSubscribedClients } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import { createRedisClient, parseRedisTarget, type RedisTarget } from './redis-target.js'

describe('a Sentinel client (createRedisClient)', () => {
  it('reconnects to the new master when +switch-master arrives during its Sentinel lookup', async () => {
    const setup = await startRedisSentinel()
    const [, replica] = setup.servers
    const client = createRedisClient(parseRedisTarget(setup.url) as RedisTarget, { connectionName: 'failover-test' })
    client.on('error', () => {})
    let ended = false
    client.on('end', () => {
      ended = true
    })
    try {
      await pollUntil('the client ready', async () => (client.status === 'ready' ? true : undefined))
      // The client's failover detector has subscribed on every Sentinel.
      for (const sentinel of setup.sentinels) {
        await untilSubscribedClients(sentinel, (count) => count >= 1, 'the failover detector subscribed')
      }
      // The reconnect's lookup waits on the stopped first Sentinel while the others fail the master
      // over and announce it, and the client's failover detector hears it.
      const lookups = await setup.failOverDuringLookups()
      expect(client.status).toBe('connecting')
      lookups.resume()
      // Unfixed, the cancelled lookup threw "Connection is closed." here and the client ended for good.
      await pollUntil(
        'the client ready on the new master, or ended',
        async () => (client.status === 'ready' || ended ? true : undefined),
        { timeoutMs: 30_000 },
      )
      expect(ended, 'the client went to end for good').toBe(false)
      await client.set('after-failover', '1')
      expect(await replica!.cli('GET', 'after-failover')).toBe('1')
    } finally {
      client.disconnect()
      await setup.stop()
    }
  })
})
