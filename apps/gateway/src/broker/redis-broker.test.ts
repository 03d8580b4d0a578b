import net from 'node:net'
import { pubsubChannel, type RedisTarget, streamKey } from '@herald/publisher/internal'
import { pollUntil, startRedis, startRedisCluster, startRedisSentinel } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { recordingLogger, withTimeout } from '../../test/harness.js'
import { describeBrokerContract, resyncWatchingSink } from './broker.contract.js'
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
    // Redis keeps its own clock: let the time pass.
    describeBrokerContract(
      `redis ${name}`,
      async (options) => new RedisBroker(redis.target, options, silent),
      (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    )
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

/** A started broker on a Redis of its own, and a plain client to that Redis, for `test`; all closed after. */
async function withStandaloneBroker(test: (broker: RedisBroker, admin: Redis) => Promise<void>): Promise<void> {
  const server = await startRedis()
  const admin = new Redis(server.url)
  const broker = new RedisBroker({ kind: 'standalone', url: server.url }, BROKER_OPTIONS, silent)
  try {
    await broker.start({ deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 })
    await test(broker, admin)
  } finally {
    await broker.close()
    admin.disconnect()
    await server.stop()
  }
}

describe('redis broker connections', () => {
  it('names each of its connections, so CLIENT LIST tells them apart', () =>
    withStandaloneBroker(async (broker, admin) => {
      await pollUntil('broker available', async () => (broker.isAvailable() && broker.canPublish() ? true : undefined))
      const names = ((await admin.client('LIST')) as string)
        .split('\n')
        .map((line) => / name=(\S*) /.exec(line)?.[1])
        .filter((name) => name !== undefined && name !== '')
      expect(names.sort()).toEqual(['herald-commands', 'herald-publishing', 'herald-subscriber'])
    }))
})

describe('redis broker subscriptions', () => {
  it("sends one SSUBSCRIBE for a turn's channels and one SUNSUBSCRIBE for their leaving", () =>
    withStandaloneBroker(async (broker, admin) => {
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
    }))

  it('resubscribes after its subscriber connection is killed in a few SSUBSCRIBEs, not one per channel', async () => {
    const server = await startRedis()
    const admin = new Redis(server.url)
    const watching = resyncWatchingSink()
    const broker = new RedisBroker({ kind: 'standalone', url: server.url }, BROKER_OPTIONS, silent)
    try {
      await broker.start(watching.sink)
      const channels = Array.from({ length: 2_500 }, (_, n) => `u:many-${n}`)
      await Promise.all(channels.map((channel) => broker.subscribe(channel)))
      await pollUntil('probe subscribed', async () => {
        const probes = (await admin.call('PUBSUB', 'SHARDCHANNELS', 'herald:{probe:*')) as string[]
        return probes.length === 1 ? true : undefined
      })
      await admin.config('RESETSTAT')
      const resync = watching.nextResync()
      await server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      await withTimeout(resync, 20_000, () => 'no resync')
      // 2,500 channels and the probe's: three commands of at most a thousand.
      const stats = await admin.info('commandstats')
      expect(/cmdstat_ssubscribe:calls=(\d+)/.exec(stats)?.[1]).toBe('3')
      const shardChannels = channels.map(pubsubChannel)
      expect(await admin.call('PUBSUB', 'SHARDNUMSUB', ...shardChannels)).toEqual(
        shardChannels.flatMap((channel) => [channel, 1]),
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
      await broker.start({ deliver: () => {}, suspend: () => suspended(), hold: () => {}, resync: async () => 0 })
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

/**
 * A TCP relay to Redis whose links can be cut, and which can hold back the first SSUBSCRIBE
 * a client sends: for losing a connection again while a resubscribe waits on its answer.
 */
async function startRelay(port: number) {
  const links = new Set<{ client: net.Socket; upstream: net.Socket; subscriber: boolean; stalled: boolean }>()
  let holdSsubscribe: ((link: { client: net.Socket; upstream: net.Socket }) => void) | undefined
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1')
    const link = { client, upstream, subscriber: false, stalled: false }
    links.add(link)
    client.on('data', (chunk) => {
      // The subscriber names itself when it connects (CLIENT SETNAME herald-subscriber).
      if (chunk.toString('latin1').includes('herald-subscriber')) link.subscriber = true
      const hold = holdSsubscribe
      if (hold !== undefined && /ssubscribe/i.test(chunk.toString('latin1'))) {
        holdSsubscribe = undefined
        hold(link)
        return
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!link.stalled) client.write(chunk)
    })
    const drop = () => {
      links.delete(link)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', drop)
    upstream.on('close', drop)
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cutAll(): void {
      for (const link of links) link.client.destroy()
    },
    /** Stops passing Redis's bytes to the subscriber connected now, which stays connected. */
    stallSubscriber(): void {
      for (const link of links) if (link.subscriber) link.stalled = true
    },
    /** Resolves with the link of the next client to send an SSUBSCRIBE, which is not passed on. */
    nextSsubscribe(): Promise<{ client: net.Socket; upstream: net.Socket }> {
      return new Promise((resolve) => {
        holdSsubscribe = resolve
      })
    },
    close(): void {
      this.cutAll()
      server.close()
    },
  }
}

describe('redis broker recovery', () => {
  it('resyncs after a second loss while the resubscribe of the first waits, without waiting for a rebuild', async () => {
    const server = await startRedis()
    const relay = await startRelay(Number(new URL(server.url).port))
    let suspensions = 0
    const watching = resyncWatchingSink({ suspend: () => suspensions++ })
    const resync = watching.nextResync()
    // Probes a minute apart: a rebuild of a stuck subscriber would take five minutes.
    const probe = { intervalMs: 60_000, onLatency: () => {}, onRebuild: () => {} }
    const broker = new RedisBroker({ kind: 'standalone', url: relay.url }, BROKER_OPTIONS, silent, probe)
    try {
      await broker.start(watching.sink)
      await broker.subscribe('u:again')
      const held = relay.nextSsubscribe()
      relay.cutAll()
      // The resubscribe's SSUBSCRIBE is held, and its connection lost: ioredis resends it on the
      // next connection, so that resubscribe waits on through a second loss.
      const link = await held
      link.client.destroy()
      await withTimeout(resync, 20_000, () => `no resync; suspended ${suspensions} times`)
      expect(suspensions).toBeGreaterThanOrEqual(1)
    } finally {
      await broker.close()
      relay.close()
      await server.stop()
    }
  })
})

describe('redis broker probes', () => {
  it('logs each time the probes go overdue, not only the first', async () => {
    const server = await startRedis()
    const relay = await startRelay(Number(new URL(server.url).port))
    const { logger, lines } = recordingLogger('info')
    const overdue = () => lines.filter((line) => line.includes('pubsub probe overdue')).length
    const rebuilt = () => lines.filter((line) => line.includes('redis subscriber stuck')).length
    const deliveringAgain = () => lines.filter((line) => line.includes('pubsub probe delivering again')).length
    const probe = { intervalMs: 100, onLatency: () => {}, onRebuild: () => {} }
    const broker = new RedisBroker({ kind: 'standalone', url: relay.url }, BROKER_OPTIONS, logger, probe)
    try {
      await broker.start({ deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 })
      for (const round of [1, 2]) {
        // A stall of the rebuilt subscriber before any probe came through it is the same episode,
        // still overdue, and logs nothing new: the next round begins once a probe came through.
        await pollUntil('probes delivering', async () =>
          broker.isAvailable() && deliveringAgain() >= round - 1 ? true : undefined,
        )
        relay.stallSubscriber()
        await pollUntil(`overdue, round ${round}`, async () => (overdue() >= round ? true : undefined))
        await pollUntil(`rebuilt, round ${round}`, async () => (rebuilt() >= round ? true : undefined))
      }
    } finally {
      await broker.close()
      relay.close()
      await server.stop()
    }
  })
})

describe('redis broker tails', () => {
  it("reads each stream's tail apart when one key of a call holds another type, failing that stream alone", () =>
    withStandaloneBroker(async (broker, admin) => {
      // Written around the functions: a string where a stream belongs.
      await admin.set(streamKey('u:poisoned'), 'x')
      const channels = ['u:a', 'u:b', 'u:poisoned', 'u:c']
      // Asked in one turn, so gathered into one herald_tails call.
      const tails = await Promise.allSettled(channels.map((channel) => broker.tail(channel)))
      expect(tails.map((tail) => tail.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
      expect(String((tails[2] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/)
    }))
})

describe('redis broker probes and the wall clock', () => {
  it('stays available through a step of the wall clock, forward or back: probe intervals are monotonic', async () => {
    const server = await startRedis()
    let delivered = 0
    const probe = { intervalMs: 100, onLatency: () => delivered++, onRebuild: () => {} }
    const broker = new RedisBroker({ kind: 'standalone', url: server.url }, BROKER_OPTIONS, silent, probe)
    try {
      await broker.start({ deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 })
      await pollUntil('probes delivering', async () => (broker.isAvailable() && delivered > 0 ? true : undefined))
      vi.useFakeTimers({ toFake: ['Date'] })
      // An NTP step or a resumed VM: far past the 3 intervals after which a probe is overdue.
      for (const stepMs of [60_000, -600_000]) {
        vi.setSystemTime(Date.now() + stepMs)
        expect(broker.isAvailable()).toBe(true)
        const before = delivered
        await pollUntil('later probes', async () => (delivered >= before + 3 ? true : undefined))
        expect(broker.isAvailable()).toBe(true)
      }
    } finally {
      vi.useRealTimers()
      await broker.close()
      await server.stop()
    }
  })
})

const BROKER_OPTIONS = { historyMaxLen: 100, historyTtlSeconds: 3600, idempotencyTtlSeconds: 60 }
