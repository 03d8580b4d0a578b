/**
 * A Sentinel client made by createRedisClient follows a failover announced while it is
 * reconnecting. ioredis's failover detector, left over from the lost connection, cancelled the
 * reconnect's Sentinel lookup when `+switch-master` arrived during it, and the client ended for good.
 */

import { pollUntil, startRedisSentinel, untilSubscribedClients } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createRedisClient, parseRedisTarget, type RedisTarget } from './redis-target.js'

describe('a Sentinel client (createRedisClient)', () => {
  it('reconnects to the new master when +switch-master arrives during its Sentinel lookup', async () => {
    const setup = await startRedisSentinel()
    const [lookupSentinel, ...otherSentinels] = setup.sentinels
    const [master, replica] = setup.servers
    const client = createRedisClient(parseRedisTarget(setup.url) as RedisTarget, { connectionName: 'failover-test' })
    client.on('error', () => {})
    let ended = false
    client.on('end', () => {
      ended = true
    })
    // Told of the switch at the same time as the client's failover detector.
    const watcher = new Redis(otherSentinels[0]!.port, otherSentinels[0]!.host)
    let switched = false
    watcher.on('message', () => {
      switched = true
    })
    try {
      await watcher.subscribe('+switch-master')
      await pollUntil('the client ready', async () => (client.status === 'ready' ? true : undefined))
      // The client's failover detector has subscribed on every Sentinel.
      for (const sentinel of setup.sentinels) {
        const wanted = sentinel === otherSentinels[0] ? 2 : 1
        await untilSubscribedClients(sentinel, (count) => count >= wanted, 'the failover detector subscribed')
      }
      // The first Sentinel, which a reconnect asks first, stops answering: the lookup waits on it.
      process.kill(lookupSentinel!.pid!, 'SIGSTOP')
      await master!.kill()
      await pollUntil('the other Sentinels to fail over', async () => (switched ? true : undefined), {
        timeoutMs: 30_000,
      })
      // +switch-master reached the client while its reconnect was parked in the lookup: its failover
      // detector let go of the Sentinels (fixed or not, it cleans up on a switch), the watcher stays.
      for (const sentinel of otherSentinels) {
        const watchers = sentinel === otherSentinels[0] ? 1 : 0
        await untilSubscribedClients(sentinel, (count) => count <= watchers, 'the failover detector to let go')
      }
      expect(client.status).toBe('connecting')
      process.kill(lookupSentinel!.pid!, 'SIGCONT')
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
      if (lookupSentinel!.pid !== undefined) process.kill(lookupSentinel!.pid, 'SIGCONT')
      client.disconnect()
      watcher.disconnect()
      await setup.stop()
    }
  })
})
