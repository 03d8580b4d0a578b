import { HeraldPublisher } from '@herald/publisher'
import { type RedisServer, startRedis, startRedisCluster } from '@herald/redis-harness'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RawSseStream, RecordingEventSource, signToken } from './harness.js'
import { type GatewayNode, publishSequence, startNodes, stopNodes } from './redis-nodes.js'

const range = (count: number) => Array.from({ length: count }, (_, n) => n)

describe('faults while publishing', () => {
  let redis: RedisServer
  let nodes: GatewayNode[]
  let publisher: HeraldPublisher
  let clients: RecordingEventSource[]

  beforeEach(async () => {
    redis = await startRedis()
    nodes = await startNodes(redis.url, 2, { PUBSUB_PROBE_INTERVAL_MS: '100' })
    publisher = new HeraldPublisher({ redis: redis.url })
    clients = []
    for (const node of nodes) {
      for (const user of ['carol', 'dave']) {
        clients.push(new RecordingEventSource(node.eventsUrl(), { token: await signToken(user) }))
      }
    }
    await Promise.all(clients.map((client) => client.waitForReady()))
  })
  afterEach(async () => {
    for (const client of clients) client.close()
    await publisher.close()
    await stopNodes(nodes)
    await redis.stop()
  })

  /** Every client got every acknowledged message of its user exactly once, in order. */
  async function expectEveryMessageOnce(acknowledged: number[]): Promise<void> {
    for (const client of clients) {
      await client.waitForEvents(acknowledged.length)
      expect(client.payloads()).toEqual(acknowledged)
      expect(client.count('herald.reset')).toBe(0)
    }
  }

  const publishBoth = (n: number) =>
    Promise.all(
      ['carol', 'dave'].map((user) => publisher.publish({ user }, undefined, n, { idempotencyKey: `m${n}` })),
    ).then(() => undefined)

  it('loses nothing when the subscriber connections are killed (CLIENT KILL)', async () => {
    const total = 1500
    let killed = false
    const publishing = publishSequence(total, 1000, async (n) => {
      await publishBoth(n)
      if (n === 500 && !killed) {
        killed = true
        const before = await redis.cli('CLIENT', 'LIST', 'TYPE', 'pubsub')
        expect(before.split('\n').filter((line) => line.includes('herald-subscriber'))).toHaveLength(2)
        await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      }
    })
    const { acknowledged } = await publishing
    expect(acknowledged).toEqual(range(total))
    await expectEveryMessageOnce(acknowledged)
  })

  it('while Redis is down, fails publishes fast, sheds new streams and keeps open ones, which catch up', async () => {
    await redis.kill()
    const node = nodes[0]!
    await node.process.waitForOutput(/redis subscriber lost/)
    const refused = await node.publish({ user: 'carol', data: 'while down' })
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as any).error.code).toBe('HERALD_ERR_BROKER_UNAVAILABLE')
    const shed = new RawSseStream(node.eventsUrl(), { Authorization: `Bearer ${await signToken('erin')}` })
    await shed.ended
    expect(shed.status).toBe(200)
    expect(shed.events.map((e) => [e.type, JSON.parse(e.data).reason])).toEqual([
      ['herald.unavailable', 'broker_unavailable'],
    ])
    const ready = await fetch(`${node.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as any).reasons).toContain('broker_unavailable')
    expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(/^herald_redis_up 0$/m)

    await redis.restart()
    // Fails fast until the publisher has reconnected; each attempt awaits its answer.
    for (let attempt = 0; ; attempt++) {
      try {
        await publishBoth(0)
        break
      } catch (error) {
        if (attempt > 100) throw error
      }
    }
    await expectEveryMessageOnce([0])
    // Still the streams opened before the outage: none had to reconnect.
    for (const client of clients) expect(client.readies).toBe(1)
  })

  it('fails readiness when Pub/Sub stops delivering while every connection stays up', async () => {
    const node = nodes[0]!
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200)
    // Writes (and with them SPUBLISH) are held; every connection stays open and answers PING.
    await redis.cli('CLIENT', 'PAUSE', '2000', 'WRITE')
    await node.process.waitForOutput(/pubsub probe overdue/)
    const ready = await fetch(`${node.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as any).reasons).toEqual(['broker_unavailable'])
    await node.process.waitForOutput(/pubsub probe delivering again/)
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200)
  })

  it('loses nothing acknowledged when Redis restarts', async () => {
    const total = 1500
    let restarted: Promise<void> | undefined
    const { acknowledged } = await publishSequence(
      total,
      1000,
      async (n) => {
        if (n === 500 && restarted === undefined) {
          await redis.kill()
          restarted = redis.restart()
        }
        await publishBoth(n)
      },
      // While Redis is down publishes fail fast; try the message again once it is back.
      async () => {
        await restarted
      },
    )
    expect(acknowledged).toEqual(range(total))
    await expectEveryMessageOnce(acknowledged)
  })
})

describe('a Redis Cluster losing its subscriber connections while publishing', () => {
  it('catches every channel up: every message once, in order', async () => {
    const cluster = await startRedisCluster()
    const { url } = cluster
    const nodes = await startNodes(url, 2)
    const publisher = new HeraldPublisher({ redis: url })
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']
    const clients = await Promise.all(
      users.map(
        async (user, i) => new RecordingEventSource(nodes[i % 2]!.eventsUrl(), { token: await signToken(user) }),
      ),
    )
    try {
      await Promise.all(clients.map((client) => client.waitForReady()))
      const total = 1000
      let killed = false
      const { acknowledged } = await publishSequence(total, 1000, async (n) => {
        await publisher.publishBatch(users.map((user) => ({ target: { user }, data: n, idempotencyKey: `m${n}` })))
        if (n === 300 && !killed) {
          killed = true
          await Promise.all(cluster.masters.map((master) => master.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')))
        }
      })
      for (const client of clients) {
        await client.waitForEvents(acknowledged.length)
        expect(client.payloads()).toEqual(acknowledged)
      }
    } finally {
      for (const client of clients) client.close()
      await publisher.close()
      await stopNodes(nodes)
      await cluster.stop()
    }
  })
})
