import { HeraldPublisher } from '@herald/publisher'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken } from './harness.js'
import { type GatewayNode, publishSequence, startNodes, stopNodes } from './redis-nodes.js'

const range = (count: number) => Array.from({ length: count }, (_, n) => n)

describe('faults while publishing', () => {
  let redis: RedisServer
  let nodes: GatewayNode[]
  let publisher: HeraldPublisher
  let clients: RecordingEventSource[]

  beforeEach(async () => {
    redis = await startRedis()
    nodes = await startNodes(redis.url, 2)
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
