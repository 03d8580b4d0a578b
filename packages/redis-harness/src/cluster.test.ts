import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseInfo } from './cli.js'
import { type RedisCluster, startRedisCluster } from './cluster.js'

describe('startRedisCluster', () => {
  let cluster: RedisCluster

  beforeAll(async () => {
    cluster = await startRedisCluster()
  })

  afterAll(async () => {
    await cluster.stop()
  })

  it('has 3 masters sharing all 16384 slots with cluster_state:ok', async () => {
    expect(cluster.masters).toHaveLength(3)
    expect(cluster.nodes).toEqual(cluster.masters.map((node) => ({ host: '127.0.0.1', port: node.port })))
    for (const node of cluster.masters) {
      const info = parseInfo(await node.cli('CLUSTER', 'INFO'))
      expect(info.get('cluster_state')).toBe('ok')
      expect(info.get('cluster_slots_assigned')).toBe('16384')
      expect(info.get('cluster_size')).toBe('3')
    }
  })

  it('routes keys in different slots to different masters with redis-cli -c', async () => {
    const first = cluster.masters[0]!
    // 'a', 'b' and 'c' hash to slots in three different thirds of the slot range, so three masters.
    const keys = ['a', 'b', 'c']
    const slots = await Promise.all(keys.map((key) => first.cli('CLUSTER', 'KEYSLOT', key)))
    expect(new Set(slots).size).toBe(3)

    for (const key of keys) expect(await first.cli('-c', 'SET', key, `value-${key}`)).toBe('OK')
    for (const key of keys) expect(await first.cli('-c', 'GET', key)).toBe(`value-${key}`)

    const owners = await Promise.all(cluster.masters.map(async (node) => Number(await node.cli('DBSIZE'))))
    expect(owners.filter((count) => count > 0)).toHaveLength(3)
  })

  it('moves a slot and its keys to another master, running a callback while it migrates', async () => {
    const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', 'moved'))
    await cluster.masters[0]!.cli('-c', 'SET', 'moved', 'before')
    const owner = async () => {
      for (const master of cluster.masters) if ((await master.cli('GET', 'moved')) === 'before') return master
      return undefined
    }
    const from = await owner()
    const to = cluster.masters.find((master) => master !== from)!
    let redirected = ''
    await cluster.moveSlot(slot, to, async () => {
      // Moved over already: the old owner redirects, the new one answers only after ASKING.
      redirected = await from!.cli('GET', 'moved')
    })
    expect(redirected).toMatch(/ASK/)
    expect(await to.cli('GET', 'moved')).toBe('before')
    expect(await from!.cli('GET', 'moved')).toMatch(/MOVED \d+ 127\.0\.0\.1:/)
    expect(await from!.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('0')
  })

  it('stops every node idempotently', async () => {
    await Promise.all([cluster.stop(), cluster.stop()])
    for (const node of cluster.masters) expect(node.pid).toBeUndefined()
  })
})

describe('startRedisCluster with replicas', () => {
  it('has a replica per master, and fails a master over to its replica by takeover and by kill', async () => {
    const cluster = await startRedisCluster({ replicasPerMaster: 1, nodeTimeoutMs: 2000 })
    try {
      expect(cluster.masters).toHaveLength(3)
      expect(cluster.replicas).toHaveLength(3)
      for (const replica of cluster.replicas) {
        expect(parseInfo(await replica.cli('INFO', 'replication')).get('role')).toBe('slave')
      }
      const [first, second] = cluster.masters
      const tookOver = await cluster.failover(first!, 'takeover')
      expect(cluster.replicas).toContain(tookOver)
      expect(parseInfo(await first!.cli('INFO', 'replication')).get('role')).toBe('slave')
      const elected = await cluster.failover(second!, 'kill')
      expect(second!.pid).toBeUndefined()
      expect(parseInfo(await elected.cli('CLUSTER', 'INFO')).get('cluster_state')).toBe('ok')
    } finally {
      await cluster.stop()
    }
  })
})
