import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { idempotencyKey, streamKey } from '@herald/publisher/internal'
import { startRedis } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { RawSseStream, signToken } from './harness.js'
import { type GatewayNode, publishSequence, useFleet } from './redis-nodes.js'

const run = promisify(execFile)
const CLI = new URL('../../../packages/publisher/dist/cli.js', import.meta.url).pathname
const range = (count: number) => Array.from({ length: count }, (_, n) => n)

describe('two gateway processes on one Redis', () => {
  const fleet = useFleet(startRedis, 2, { LOG_LEVEL: 'debug', PUBSUB_PROBE_INTERVAL_MS: '100' })
  const { tab } = fleet

  it('delivers a publish from the SDK, the CLI, the HTTP API and redis-cli to the tabs on every node', async () => {
    const types = ['via.sdk', 'via.cli', 'via.http', 'via.redis-cli']
    const tabs = [
      await tab(fleet.nodes[0]!, 'alice', { types }),
      await tab(fleet.nodes[1]!, 'alice', { types }),
      await tab(fleet.nodes[1]!, 'alice', { types }),
    ]
    await Promise.all(tabs.map((t) => t.waitForReady()))

    await fleet.publisher.publish({ user: 'alice' }, 'via.sdk', { n: 0 })
    await run(process.execPath, [CLI, 'publish', '--user', 'alice', '--type', 'via.cli', '--data', '{"n":1}'], {
      env: { ...process.env, REDIS_URL: fleet.redis.url },
    })
    expect((await fleet.nodes[1]!.publish({ user: 'alice', type: 'via.http', data: { n: 2 } })).status).toBe(200)
    await fleet.redis.cli('FCALL', 'herald_publish', '1', 'herald:{u:alice}:s', 'via.redis-cli', '{"n":3}')

    for (const t of tabs) {
      await t.waitForEvents(4)
      expect(t.events.map((e) => [e.type, JSON.parse(e.data)])).toEqual(types.map((type, n) => [type, { n }]))
    }
  })

  it('subscribes a node to a user only while it serves one of their tabs', async () => {
    const subscribers = async () =>
      Number((await fleet.redis.cli('PUBSUB', 'SHARDNUMSUB', 'herald:{u:carol}:c')).split('\n')[1])
    expect(await subscribers()).toBe(0)
    const tabs = [
      await tab(fleet.nodes[0]!, 'carol'),
      await tab(fleet.nodes[0]!, 'carol'),
      await tab(fleet.nodes[1]!, 'carol'),
    ]
    await Promise.all(tabs.map((t) => t.waitForReady()))
    // One subscription per node, however many tabs it serves.
    expect(await subscribers()).toBe(2)
    const closes = (node: GatewayNode) => node.process.output().split('stream closed').length - 1
    const closedBefore = closes(fleet.nodes[0]!)
    tabs[0]!.close()
    await fleet.nodes[0]!.process.waitForOutput(new RegExp(`(stream closed[\\s\\S]*){${closedBefore + 1}}`))
    expect(await subscribers()).toBe(2)
    tabs[1]!.close()
    await fleet.nodes[0]!.process.waitForOutput(new RegExp(`(stream closed[\\s\\S]*){${closedBefore + 2}}`))
    expect(await subscribers()).toBe(1)
  })

  it('resumes a tab exactly on the other node while publishing runs at over 1k msg/s', async () => {
    const total = 4000
    const onA = await tab(fleet.nodes[0]!, 'bob')
    await onA.waitForReady()
    const publishing = publishSequence(total, 2000, (n) =>
      fleet.publisher.publish({ user: 'bob' }, undefined, n, { idempotencyKey: `m${n}` }).then(() => undefined),
    )
    await onA.waitForEvents(1000)
    onA.close()
    const handedOver = onA.events.at(-1)!
    const onB = await tab(fleet.nodes[1]!, 'bob', { lastEventId: handedOver.lastEventId })
    const { acknowledged, seconds } = await publishing
    console.info(`published ${acknowledged.length} messages at ${Math.round(acknowledged.length / seconds)} msg/s`)
    const seenOnA = onA.payloads() as number[]
    await onB.waitForEvents(total - seenOnA.length)
    expect([...seenOnA, ...(onB.payloads() as number[])]).toEqual(range(total))
    expect(onB.count('herald.reset')).toBe(0)
  })

  it('replays past an entry whose id the resume format cannot hold (a raw XADD), not stopping there', async () => {
    const node = fleet.nodes[0]!
    const authorization = { Authorization: `Bearer ${await signToken('xena')}` }
    const fresh = new RawSseStream(node.eventsUrl(), authorization)
    await fresh.until((s) => s.events.some((e) => e.type === 'herald.ready'))
    fresh.close()
    const tag = fresh.events.at(-1)!.lastEventId.split(':')[0]
    // Written around Herald, with ids of its own choosing. One has a 20-digit sequence, and it
    // comes last on a full page of the replay (200 entries after the position resumed from).
    const base = Date.now() + 60_000
    const ids = [
      ...range(200).map((n) => `${base}-${n + 1}`),
      `${base}-12345678901234567890`,
      ...range(5).map((n) => `${base + 1}-${n + 1}`),
    ]
    const redis = new Redis(fleet.redis.url)
    try {
      const writes = redis.pipeline()
      for (const [n, id] of ids.entries()) writes.xadd('herald:{u:xena}:s', id, 'd', String(n), 't', '')
      await writes.exec()
    } finally {
      redis.disconnect()
    }
    const resumed = new RawSseStream(node.eventsUrl(), { ...authorization, 'Last-Event-ID': `${tag}:${ids[0]}` })
    await resumed.until((s) => s.events.some((e) => e.type === 'herald.ready'))
    resumed.close()
    const expected = [...range(199).map((n) => String(n + 1)), ...range(5).map((n) => String(n + 201))]
    expect(resumed.events.filter((e) => e.type === 'message').map((e) => e.data)).toEqual(expected)
    expect(JSON.parse(resumed.events.at(-1)!.data)).toMatchObject({ resume: 'exact', replayed: 204 })
  })

  it('replays no entry a year ahead (a raw XADD), so the tab still hears what comes after the stream is repaired', async () => {
    const node = fleet.nodes[0]!
    const fresh = new RawSseStream(node.eventsUrl(), { Authorization: `Bearer ${await signToken('yves')}` })
    await fresh.until((s) => s.events.some((e) => e.type === 'herald.ready'))
    fresh.close()
    const position = fresh.events.at(-1)!.lastEventId
    expect((await node.publish({ user: 'yves', data: 1 })).status).toBe(200)
    // Written around Herald two years ahead; the publish after it gets the next id from it.
    await fleet.redis.cli(
      'XADD',
      streamKey('u:yves'),
      `${Date.now() + 2 * 366 * 24 * 3600 * 1000}-0`,
      'd',
      '"raw"',
      't',
      '',
    )
    expect((await node.publish({ user: 'yves', data: 2 })).status).toBe(200)
    const resumed = await tab(node, 'yves', { lastEventId: position })
    await resumed.waitForReady()
    expect(resumed.payloads()).toEqual([1])
    expect(resumed.count('herald.reset')).toBe(0)
    // The repair docs/redis-contract.md gives: delete the stream. The open tab hears what follows.
    await fleet.redis.cli('DEL', streamKey('u:yves'))
    for (const data of [3, 4, 5]) expect((await node.publish({ user: 'yves', data })).status).toBe(200)
    await resumed.waitForEvents(4)
    expect(resumed.payloads()).toEqual([1, 3, 4, 5])
    resumed.close()
  })

  it("resets, not replays again, a tab whose channel's first notification a failover lost and its publisher stored again", async () => {
    // As a Sentinel failover loses it: the demoted master created the stream, announced the
    // entry (the tab saw it live) and lost it, with its idempotency key, to the promotion; the
    // publisher, answered 503, sends it again with the same key, and the new master stores it
    // under an id of its own.
    const onA = await tab(fleet.nodes[0]!, 'yuri')
    await onA.waitForReady()
    const publish = () => fleet.nodes[1]!.publish({ user: 'yuri', data: 'once', idempotencyKey: 'k1' })
    expect((await publish()).status).toBe(200)
    await onA.waitForEvents(1)
    onA.close()
    await fleet.redis.cli('DEL', streamKey('u:yuri'), idempotencyKey('u:yuri', 'k1'))
    const missing = await tab(fleet.nodes[1]!, 'yuri', { lastEventId: onA.events.at(-1)!.lastEventId })
    await missing.waitForEvents(1, 'herald.reset')
    missing.close()
    expect((await publish()).status).toBe(200)
    const recreated = await tab(fleet.nodes[1]!, 'yuri', { lastEventId: onA.events.at(-1)!.lastEventId })
    await recreated.waitForEvents(1, 'herald.reset')
    await recreated.waitForReady()
    for (const resumed of [missing, recreated]) {
      expect(resumed.events.map((e) => [e.type, e.data])).toEqual([['herald.reset', '{"reason":"unknown"}']])
    }
  })

  it('proves Pub/Sub delivery with its probe and reports Redis up', async () => {
    const metrics = async () => (await fetch(`${fleet.nodes[0]!.url}/metrics`)).text()
    const probes = (text: string) => Number(/^herald_pubsub_probe_latency_seconds_count (\d+)$/m.exec(text)?.[1] ?? 0)
    const before = probes(await metrics())
    // Publishing and receiving through the node takes several probe intervals.
    const listener = await fleet.tab(fleet.nodes[0]!, 'probe-watcher')
    await listener.waitForReady()
    for (let n = 0; n < 50; n++) await fleet.publisher.publish({ user: 'probe-watcher' }, undefined, n)
    await listener.waitForEvents(50)
    const text = await metrics()
    expect(text).toMatch(/^herald_redis_up 1$/m)
    expect(probes(text)).toBeGreaterThan(0)
    expect(probes(text)).toBeGreaterThanOrEqual(before)
    expect((await fetch(`${fleet.nodes[0]!.url}/readyz`)).status).toBe(200)
  })
})
