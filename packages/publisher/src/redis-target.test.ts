import { once } from 'node:events'
import { ownedSlots, pollUntil, type RedisCluster, type RedisServer, startRedisCluster } from '@herald/redis-harness'
import { type Cluster, Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { calculateSlot } from './keys.js'
import {
  createRedisClient,
  parseRedisTarget,
  type RedisTarget,
  reconnectDelayMs,
  redisPassword,
} from './redis-target.js'

describe('parseRedisTarget', () => {
  it('reads the three topologies', () => {
    expect(parseRedisTarget('redis://:pw@127.0.0.1:6380/0')).toEqual({
      kind: 'standalone',
      url: 'redis://:pw@127.0.0.1:6380/0',
    })
    expect(parseRedisTarget('redis+sentinel://a:26379,b:26380/herald-master')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'a', port: 26379 },
        { host: 'b', port: 26380 },
      ],
      masterName: 'herald-master',
    })
    expect(parseRedisTarget('redis+cluster://user:p%40ss@n1:7000,n2:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      username: 'user',
      password: 'p@ss',
    })
  })

  it('explains what is wrong', () => {
    expect(parseRedisTarget('http://x')).toMatch(/must start with/)
    expect(parseRedisTarget('redis+sentinel://a:1')).toMatch(/master name/)
    expect(parseRedisTarget('redis+cluster://a:1,b')).toMatch(/host:port/)
    expect(parseRedisTarget('redis+cluster://a:99999')).toMatch(/host:port/)
  })

  it('refuses a malformed %-escape with a message, not a throw, and never echoes the password', () => {
    for (const url of [
      'redis+sentinel://h:1/%ZZ',
      'redis+cluster://u:s3cr%t@h:1',
      'redis+sentinel://u%E0:pw@h:1/master',
      'redis://u:s3cr%t@h:1',
      'rediss://:s3cr%t@h:1/0',
    ]) {
      const problem = parseRedisTarget(url)
      expect(problem, url).toMatch(/malformed %-escape/)
      expect(problem, url).not.toMatch(/s3cr/)
    }
  })

  it('refuses an @ or / left unescaped in the credentials of a multi-host URL, instead of misreading the hosts', () => {
    for (const url of [
      'redis+cluster://u:SEC@RET@127.0.0.1:6379',
      'redis+sentinel://admin:s3cr/et@127.0.0.1:26379',
      'redis+sentinel://u:s3cr@et@h:1,h:2/mymaster',
    ]) {
      const problem = parseRedisTarget(url)
      expect(problem, url).toMatch(/^has an @ outside its user:password@ part: write @ and \/ .* as %40 and %2F$/)
      expect(problem, url).not.toMatch(/SEC|RET|s3cr/)
    }
    expect(parseRedisTarget('redis+cluster://u:SEC%40RET@127.0.0.1:6379')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '127.0.0.1', port: 6379 }],
      username: 'u',
      password: 'SEC@RET',
    })
  })

  it('refuses a database other than 0, whose Pub/Sub other deployments on the server would share', () => {
    for (const url of [
      'redis://h:6379/3',
      'rediss://:pw@h:6379/15',
      'redis://h:6379/?db=2',
      'redis://h:6379/x',
      // ioredis takes the last db=.
      'redis://h:6379?db=0&db=3',
    ]) {
      const problem = parseRedisTarget(url)
      expect(problem, url).toMatch(/^must use database 0 .*Pub\/Sub/)
      expect(problem, url).not.toMatch(/pw/)
    }
    for (const url of ['redis://h:6379', 'redis://h:6379/', 'redis://h:6379/0', 'redis://h:6379?db=0']) {
      expect(parseRedisTarget(url), url).toEqual({ kind: 'standalone', url })
    }
  })

  it('says what a Sentinel or Cluster URL looks like when one carries a database or a query', () => {
    for (const url of [
      'redis+sentinel://h:26379/mm?db=3',
      'redis+sentinel://h:26379/mm/3',
      'redis+cluster://h:7000/3',
      'redis+cluster://h:7000?tls=true',
      'redis+cluster://h:7000,h:7001#x',
      'redis+sentinel://h:26379/mm#x',
    ]) {
      expect(parseRedisTarget(url), url).toMatch(/^must be redis\+sentinel:\/\/.*with no database or query/)
    }
  })

  it('refuses a #fragment in a redis:// URL, which ioredis would ignore', () => {
    for (const url of ['redis://h:6379#x', 'rediss://u:p@h:6379/0#', 'redis://h#6379']) {
      expect(parseRedisTarget(url), url).toBe('has a #fragment, which means nothing here: write # in a password as %23')
    }
    expect(parseRedisTarget('redis://:pa#ss@h:6379')).toBe('is not a valid redis:// URL: write # in a password as %23')
  })

  it('reads bracketed IPv6 hosts of Sentinel and Cluster URLs as ioredis takes them, bare', () => {
    expect(parseRedisTarget('redis+cluster://[::1]:7000,[fd00::a:1]:7001,10.0.0.3:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '::1', port: 7000 },
        { host: 'fd00::a:1', port: 7001 },
        { host: '10.0.0.3', port: 7002 },
      ],
    })
    expect(parseRedisTarget('redis+sentinel://[::1]:26379/mymaster')).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: '::1', port: 26379 }],
      masterName: 'mymaster',
    })
    for (const url of ['redis+cluster://::1:7000', 'redis+cluster://[::1]', 'redis+cluster://[h]x:7000']) {
      expect(parseRedisTarget(url), url).toMatch(/^hosts must be host:port or \[IPv6\]:port/)
    }
  })

  it('refuses query parameters but ?db=0, which ioredis would read as client options, naming them only', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6379/0?db=0')).toEqual({
      kind: 'standalone',
      url: 'redis://127.0.0.1:6379/0?db=0',
    })
    expect(parseRedisTarget('redis://127.0.0.1:6379/0?keyPrefix=zz:')).toBe(
      'takes no query parameters but ?db=0, got "keyPrefix"',
    )
    const problem = parseRedisTarget('rediss://h:6379?password=s3cret&family=6&password=x')
    expect(problem).toBe('takes no query parameters but ?db=0, got "password", "family"')
    expect(problem).not.toMatch(/s3cret/)
  })

  it('refuses port 0 in a redis:// URL as the Sentinel and Cluster forms do, and reads no port as 6379', () => {
    for (const url of ['redis://127.0.0.1:0', 'rediss://u:p@h:0000/0']) {
      expect(parseRedisTarget(url), url).toBe('port must be 1-65535 (or left out for 6379)')
    }
    expect(parseRedisTarget('redis://h:99999')).toBe('is not a valid redis:// URL')
    for (const url of ['redis://h', 'redis://h:1', 'redis://h:65535']) {
      expect(parseRedisTarget(url), url).toEqual({ kind: 'standalone', url })
    }
    expect(parseRedisTarget('redis+sentinel://a:0/m')).toMatch(/host:port/)
  })

  it('refuses a redis:// URL without a host instead of connecting to localhost', () => {
    for (const url of ['redis://', 'rediss://', 'redis:///0']) {
      expect(parseRedisTarget(url), url).toMatch(/needs a host/)
    }
  })
})

describe('reconnecting', () => {
  it('doubles from 50 ms to 1 s, with up to 200 ms of jitter', () => {
    const delays = (random: number) =>
      [1, 2, 3, 5, 6, 20, 1000].map((attempt) => reconnectDelayMs(attempt, () => random))
    expect(delays(0)).toEqual([50, 100, 200, 800, 1000, 1000, 1000])
    expect(delays(0.999)).toEqual([249, 299, 399, 999, 1199, 1199, 1199])
  })

  it('is how standalone and Sentinel clients reconnect, not ioredis 6 with its 5 s', () => {
    for (const target of [
      parseRedisTarget('redis://127.0.0.1:1'),
      parseRedisTarget('redis+sentinel://127.0.0.1:1/m'),
    ] as RedisTarget[]) {
      const client = createRedisClient(target) as Redis
      client.on('error', () => {})
      try {
        for (let attempt = 1; attempt <= 30; attempt++)
          expect(client.options.retryStrategy?.(attempt)).toBeLessThan(1200)
      } finally {
        client.disconnect()
      }
    }
  })
})

describe('redisPassword', () => {
  it('is the decoded password of every form, for the logs to censor', () => {
    const passwordOf = (url: string) => redisPassword(parseRedisTarget(url) as RedisTarget)
    expect(passwordOf('redis://:p%40ss%23@h:6379')).toBe('p@ss#')
    expect(passwordOf('rediss://gateway:s3cret@h')).toBe('s3cret')
    expect(passwordOf('redis+cluster://u:c%2Fpw@h1:7000,h2:7001')).toBe('c/pw')
    expect(passwordOf('redis+sentinel://:spw@h1:26379/mymaster')).toBe('spw')
    expect(passwordOf('redis://h:6379')).toBeUndefined()
    expect(passwordOf('redis+cluster://h1:7000')).toBeUndefined()
  })
})

describe("a Cluster client's sharded subscribers (ioredis, patched)", () => {
  it("after a slot moves, subscribes only that slot's channels again, each once, and every channel still delivers", async () => {
    const cluster = await startRedisCluster()
    const target = parseRedisTarget(cluster.url) as RedisTarget
    const subscriber = createRedisClient(target) as Cluster
    const publisher = createRedisClient(target) as Cluster
    try {
      // Channels on every master; the first one's slot moves.
      const channels = Array.from({ length: 300 }, (_, i) => `channel-${i}`)
      const received = new Set<string>()
      subscriber.on('smessage', (channel: string) => received.add(channel))
      await Promise.all(channels.map((channel) => subscriber.ssubscribe(channel)))
      const [moving] = channels as [string]
      // Subscribed again, as a caller catching a channel up after a loss does.
      await subscriber.ssubscribe(moving)
      const slots = await Promise.all(channels.map((channel) => publisher.call('CLUSTER', 'KEYSLOT', channel)))
      const slot = Number(slots[0])
      const inSlot = channels.filter((_, i) => Number(slots[i]) === slot)

      const before = await ssubscribeCalls(cluster.masters)
      const from = await cluster.slotOwner(slot)
      const to = cluster.masters.find((master) => master !== from)!
      const followed = once(subscriber, 'subscribersReady')
      await cluster.moveSlot(slot, to)
      await pollUntil('the client to see the new owner', async () => {
        subscriber.refreshSlotsCache()
        return subscriber.slots[slot]?.[0] === `127.0.0.1:${to.port}` ? true : undefined
      })
      await followed

      await Promise.all(channels.map((channel) => publisher.spublish(channel, 'after the move')))
      await pollUntil('a message on every channel', async () => (received.size === channels.length ? true : undefined))
      // One SSUBSCRIBE for the moved slot's channels; before the patch, every channel's slot again.
      expect((await ssubscribeCalls(cluster.masters)) - before).toBe(1)
      // The group's list of the moved slot names each channel once, however often it was subscribed.
      const group = (subscriber as unknown as { shardedSubscribers: { channels: Map<number, string[]> } })
        .shardedSubscribers
      expect(group.channels.get(slot)).toEqual(inSlot)
    } finally {
      subscriber.disconnect()
      publisher.disconnect()
      await cluster.stop()
    }
  })
})

describe("a Cluster client's sharded subscriber told of a channel Redis dropped (ioredis, patched)", () => {
  it('reports it though a SUNSUBSCRIBE of another channel waits for its reply', () =>
    withClusterSubscriber(async (cluster, subscriber, admin) => {
      // Two channels of one master, in different slots: Redis drops the first's subscription by
      // itself (its slot set again) while this client's SUNSUBSCRIBE of the second is in flight.
      const names = Array.from({ length: 2000 }, (_, i) => `channel-${i}`).filter((name) => {
        const slot = calculateSlot(name)
        return slot < 5461 && slot !== calculateSlot('channel-0')
      })
      const [kept, left] = ['channel-0', names[0]!]
      expect(await cluster.slotOwner(calculateSlot(kept))).toBe(cluster.masters[0])
      expect(await cluster.slotOwner(calculateSlot(left))).toBe(cluster.masters[0])
      await subscriber.ssubscribe(kept)
      await subscriber.ssubscribe(left)
      const dropped: string[] = []
      subscriber.on('sunsubscribed', (channel: string) => dropped.push(channel))
      const id = String(await admin.call('CLUSTER', 'MYID'))
      // The master runs a script for 2.5 s; the SETSLOT behind it on the same connection runs
      // right after it, before any other client's command that came meanwhile.
      const busy = admin.eval(BUSY_2500_MS, 0)
      const setSlot = admin.call('CLUSTER', 'SETSLOT', calculateSlot(kept), 'NODE', id)
      // No event says the script has begun: a pause well inside its 2.5 s puts the SUNSUBSCRIBE
      // behind it, so its reply comes after Redis's own for the dropped channel. (Inside 300 ms
      // was too close for a loaded host, whose timers fire hundreds of milliseconds late.)
      await new Promise((resolve) => setTimeout(resolve, 100))
      const leaving = subscriber.sunsubscribe(left)
      await Promise.all([busy, setSlot])
      // Its reply, not the dropped channel's, answers it: no subscription is left on that connection.
      expect(await leaving).toBe(0)
      await pollUntil('the dropped channel reported', async () => (dropped.includes(kept) ? true : undefined), {
        timeoutMs: 5_000,
      })
      expect(dropped).toEqual([kept])
    }))
})

describe("a Cluster client's SUNSUBSCRIBE that a node answers MOVED (ioredis, patched)", () => {
  it('is done there, and does not undo an SSUBSCRIBE sent to the new owner meanwhile', () =>
    withSilentlyMovedSlot(async ({ subscriber, admin, to, channel, slot }) => {
      // The old owner is held by a script longer than a slots-map read waits for it, so the
      // client's SUNSUBSCRIBE, sent there by the stale map, is answered MOVED only after the
      // client has read the new map and subscribed the channel on its new owner.
      const busy = admin.eval(BUSY_2500_MS, 0)
      const leaving = subscriber.sunsubscribe(channel)
      await new Promise<void>((resolve) => subscriber.refreshSlotsCache(() => resolve()))
      expect(subscriber.slots[slot]?.[0]).toBe(`127.0.0.1:${to.port}`)
      await subscriber.ssubscribe(channel)
      await Promise.all([busy, leaving])
      const subscribers = Number((await to.cli('PUBSUB', 'SHARDNUMSUB', channel)).split('\n')[1])
      expect(subscribers).toBe(1)
    }))
})

describe("a Cluster client's SSUBSCRIBE that a node answers MOVED (ioredis, patched)", () => {
  it('is sent on once the client has read the new map, however long that takes', () =>
    withSilentlyMovedSlot(async ({ cluster, subscriber, to, channel }) => {
      // Every node holds its commands for a while, the map read that a MOVED starts among them,
      // but still answers MOVED at once. As shipped, ioredis sent the SSUBSCRIBE on at once, by
      // its subscribers' stale map to the old owner, again and again until it gave up: a stream
      // opened during a slot move on a busy host was turned away.
      for (const server of [...cluster.masters, ...cluster.replicas]) await server.cli('CLIENT', 'PAUSE', '500', 'ALL')
      await subscriber.ssubscribe(channel)
      expect(Number((await to.cli('PUBSUB', 'SHARDNUMSUB', channel)).split('\n')[1])).toBe(1)
    }))
})

/**
 * A Cluster of 3 masters, a subscriber client made as the gateway makes its own, and a plain
 * client to the first master (which the tests hold with a script); all closed after.
 */
async function withClusterSubscriber(
  test: (cluster: RedisCluster, subscriber: Cluster, admin: Redis) => Promise<void>,
): Promise<void> {
  const cluster = await startRedisCluster()
  const subscriber = createRedisClient(parseRedisTarget(cluster.url) as RedisTarget, {
    autoResubscribe: false,
  }) as Cluster
  const admin = new Redis(cluster.masters[0]!.port)
  try {
    await test(cluster, subscriber, admin)
  } finally {
    subscriber.disconnect()
    admin.disconnect()
    await cluster.stop()
  }
}

/**
 * As {@link withClusterSubscriber}, with the subscriber connected to every master and the slot of
 * `channel` moved from the first master to the second without the client knowing: nothing of that
 * slot is subscribed, so nothing tells it, and its map is stale.
 */
function withSilentlyMovedSlot(
  test: (moved: {
    cluster: RedisCluster
    subscriber: Cluster
    admin: Redis
    to: RedisServer
    channel: string
    slot: number
  }) => Promise<void>,
): Promise<void> {
  return withClusterSubscriber(async (cluster, subscriber, admin) => {
    const [from, to] = cluster.masters as [RedisServer, RedisServer]
    const channel = 'moving-channel'
    const slot = calculateSlot(channel)
    expect(await cluster.slotOwner(slot)).toBe(from)
    await subscribeOnEachMaster(cluster, subscriber, slot)
    await cluster.moveSlot(slot, to)
    await test({ cluster, subscriber, admin, to, channel, slot })
  })
}

/** Connects the client's sharded subscriber to every master, subscribing a channel outside `slot` on each. */
async function subscribeOnEachMaster(cluster: RedisCluster, subscriber: Cluster, slot: number): Promise<void> {
  const names = Array.from({ length: 2000 }, (_, i) => `other-${i}`).filter((name) => calculateSlot(name) !== slot)
  for (const master of cluster.masters) {
    const owned = await ownedSlots(master)
    await subscriber.ssubscribe(names.find((name) => owned.has(calculateSlot(name)))!)
  }
}

/** A script that holds its Redis for `ms` milliseconds. */
function busyScript(ms: number): string {
  return `
local started = redis.call('TIME')
local elapsed = 0
repeat
  local now = redis.call('TIME')
  elapsed = (now[1] - started[1]) * 1000000 + (now[2] - started[2])
until elapsed > ${ms * 1000}
return 1`
}
/** Past ioredis's slotsRefreshTimeout (1 s), after which a map read asks another node. */
const BUSY_2500_MS = busyScript(2500)

/** SSUBSCRIBE commands the masters have run, from `INFO commandstats`. */
async function ssubscribeCalls(masters: readonly RedisServer[]): Promise<number> {
  const stats = await Promise.all(masters.map((master) => master.cli('INFO', 'commandstats')))
  return stats.reduce((sum, text) => sum + Number(/cmdstat_ssubscribe:calls=(\d+)/.exec(text)?.[1] ?? 0), 0)
}
