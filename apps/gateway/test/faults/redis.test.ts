/**
 * Faults of a standalone Redis under two gateway processes: the subscriber
 * connections killed, Redis killed and restarted from its AOF, Redis killed and
 * restarted empty (with tabs open, and with a tab away), Redis down for a while,
 * and Pub/Sub silently paused. Every published message is counted.
 */

import { HeraldPublisher } from '@herald/publisher'
import { streamKey } from '@herald/publisher/internal'
import { pollUntil, type RedisServer, startRedis } from '@herald/redis-harness'
import { afterEach, describe, expect, it } from 'vitest'
import { RawSseStream, RecordingEventSource, signToken, withTimeout } from '../harness.js'
import { type GatewayNode, startNodes, stopNodes } from '../redis-nodes.js'
import { atScale, SCENARIO_TIMEOUT_MS } from './scale.js'
import {
  DeliveryLedger,
  expectExact,
  expectNoSilentLoss,
  openTabs,
  publishCounted,
  publishThroughFaults,
  settle,
} from './scenario.js'

const USERS = ['carol', 'dave']
/** Redis with an append-only file: what it acknowledged is on disk before its reply is sent. */
const WITH_AOF = ['--appendonly', 'yes']

describe('faults of a standalone Redis while publishing', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  let redis: RedisServer | undefined
  let nodes: GatewayNode[] = []
  let publisher: HeraldPublisher | undefined
  let clients: RecordingEventSource[] = []
  let ledger: DeliveryLedger

  /** Redis (with these extra flags) and two nodes probing every 100 ms; returns Redis. */
  async function up(redisArgs: readonly string[] = []): Promise<RedisServer> {
    redis = await startRedis({ args: redisArgs })
    nodes = await startNodes(redis.url, 2, { PUBSUB_PROBE_INTERVAL_MS: '100' })
    publisher = new HeraldPublisher({ redis: redis.url })
    return redis
  }

  /** A tab per user on each node, all counted under `scenario`. */
  async function start(scenario: string): Promise<void> {
    ledger = new DeliveryLedger(scenario)
    clients = await openTabs(ledger, nodes, USERS)
  }

  afterEach(async () => {
    for (const client of clients) client.close()
    clients = []
    await publisher?.close()
    await stopNodes(nodes)
    nodes = []
    await redis?.stop()
    publisher = undefined
    redis = undefined
  })

  const publishToEveryUser = (n: number) =>
    Promise.all(USERS.map((user) => publisher!.publish({ user }, undefined, n, { idempotencyKey: `m${n}` })))

  it('loses nothing when the subscriber connections are killed (CLIENT KILL TYPE pubsub)', async () => {
    const redis = await up()
    await start('redis: subscriber connections killed')
    await publishThroughFaults(
      ledger,
      atScale(1500, 10_000),
      1000,
      atScale(1, 5),
      async () => {
        const before = await redis.cli('CLIENT', 'LIST', 'TYPE', 'pubsub')
        expect(before.split('\n').filter((line) => line.includes('herald-subscriber'))).toHaveLength(2)
        await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      },
      publishToEveryUser,
    )
    expectExact(await settle(ledger, clients))
  })

  it('loses nothing acknowledged when Redis with an AOF is killed and restarts', async () => {
    const redis = await up(WITH_AOF)
    await start('redis: killed and restarted from its AOF')
    // While Redis is down publishes fail fast; each is sent again once it is back.
    await publishThroughFaults(
      ledger,
      atScale(1500, 10_000),
      1000,
      atScale(1, 3),
      async () => {
        await redis.kill()
        await redis.restart()
      },
      publishToEveryUser,
    )
    expectExact(await settle(ledger, clients))
  })

  it('tells every tab, open or away, that history is gone when Redis restarts empty; nothing is lost silently', async () => {
    const redis = await up()
    await start('redis: killed and restarted empty')
    const away = new RecordingEventSource(nodes[0]!.eventsUrl(), { token: await signToken('erin') })
    await away.waitForReady()
    await publisher!.publish({ user: 'erin' }, undefined, 'seen')
    await away.waitForEvents(1)
    away.close()
    await publisher!.publish({ user: 'erin' }, undefined, 'missed, then lost with the restart')
    // Raw streams, to read the retry hint each is closed with (RETRY_MS is 100 on these nodes).
    const hinted = await Promise.all(
      ['gap1', 'gap2', 'gap3', 'gap4'].map(async (user) => {
        const stream = new RawSseStream(nodes[0]!.eventsUrl(), { Authorization: `Bearer ${await signToken(user)}` })
        await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 5000, 'ready')
        await publisher!.publish({ user }, undefined, 'before the restart')
        await stream.until((s) => s.events.some((e) => e.type === 'message'), 5000, 'a message')
        return stream
      }),
    )
    // Redis acknowledges a publish before it writes the message to subscribers, so a kill can
    // take an acknowledged message that no node saw: open tabs cannot be vouched for either.
    const count = atScale(600, 3000)
    await publishThroughFaults(
      ledger,
      count,
      1000,
      1,
      async () => {
        await redis.kill()
        await redis.restart()
      },
      publishToEveryUser,
    )
    // A tab resumes once its node has closed it and its retry delay has passed, which on a busy
    // host can be after the last publish: its reset then comes after every message, and the last
    // one never reaches it (CI saw that once). One more message, once every tab is live again,
    // is the last one each must see.
    await Promise.all(clients.map((client) => client.waitForReady(2)))
    await publishToEveryUser(count)
    ledger.published(count)
    const figures = await settle(ledger, clients)
    expectNoSilentLoss(figures, ledger)
    // Each open tab was told once, by a resume after its node closed it, and had everything after.
    for (const client of clients) expect([client.readies, client.events.filter(isReset).length]).toEqual([2, 1])
    // Closed together, told to come back apart: each its own hint, RETRY_MS × [1, 2) rounded to
    // the millisecond, so 2 × RETRY_MS itself too.
    await Promise.all(hinted.map((stream) => stream.ended))
    for (const stream of hinted) expect(stream.retries).toHaveLength(2)
    const hints = hinted.map((stream) => stream.retries.at(-1)!)
    for (const hint of hints) expect(hint).toBeGreaterThanOrEqual(100)
    for (const hint of hints) expect(hint).toBeLessThanOrEqual(200)
    expect(new Set(hints).size).toBeGreaterThan(1)
    // One line for the node's whole catch-up, not one per channel (a full node has 19,000).
    const gapLines = nodes[0]!.process
      .output()
      .split('\n')
      .filter((line) => line.includes('history does not cover the outage'))
    expect(gapLines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ channels: 6, trimmed: 6, unknown: 0, of: 6 }),
    ])
    // And the line that follows does not say every channel was caught up.
    const backLines = nodes[0]!.process
      .output()
      .split('\n')
      .filter((line) => line.includes('redis subscriber back'))
      .map((line) => JSON.parse(line))
    // It counts the streams' channels, as the line that held them did, and not the probe's.
    expect(backLines).toEqual([
      expect.objectContaining({
        channels: 6,
        msg: 'redis subscriber back; channels caught up from streams, but for those whose streams were closed to resume',
      }),
    ])

    await pollUntil('node 1 ready', async () => ((await fetch(`${nodes[1]!.url}/readyz`)).ok ? true : undefined))
    const back = new RecordingEventSource(nodes[1]!.eventsUrl(), {
      token: await signToken('erin'),
      lastEventId: away.events[0]!.lastEventId,
    })
    clients.push(back)
    await back.waitForEvents(1, 'herald.reset')
    expect(back.events.map((event) => [event.type, event.data])).toEqual([['herald.reset', '{"reason":"trimmed"}']])
  })

  it('while Redis is down, fails publishes fast, sheds new streams and keeps open ones, which catch up', async () => {
    const redis = await up(WITH_AOF)
    await start('redis: down, then back')
    const node = nodes[0]!
    const connectionErrors = async () =>
      Number(
        /^herald_redis_connection_errors_total (\d+)$/m.exec(await (await fetch(`${node.url}/metrics`)).text())?.[1],
      )
    expect(await connectionErrors()).toBe(0)
    await redis.kill()
    await node.process.waitForOutput(/redis subscriber lost/)
    const refused = await node.publish({ user: 'carol', data: 'while down' })
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
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
    // Each reconnect attempt that fails counts, beyond the few the log shows per window.
    await pollUntil('connection errors counted', async () => ((await connectionErrors()) > 3 ? true : undefined))

    await redis.restart()
    // Fails fast until the publisher has reconnected; each attempt awaits its answer.
    let attempts = 0
    await publishCounted(ledger, 1, 1000, publishToEveryUser, async (_n, error) => {
      if (++attempts > 100) throw error
    })
    expectExact(await settle(ledger, clients))
    // Still the streams opened before the outage: none had to reconnect.
    for (const client of clients) expect(client.readies).toBe(1)
  })

  /** A Redis of the test's own and one node on it, probing every second, ready. */
  async function oneReadyNodeProbingEverySecond(): Promise<[RedisServer, GatewayNode]> {
    const own = await startRedis()
    redis = own
    const [node] = await startNodes(own.url, 1, { PUBSUB_PROBE_INTERVAL_MS: '1000' })
    expect((await fetch(`${node!.url}/readyz`)).status).toBe(200)
    return [own, node!]
  }

  it('turns away a stream caught in setup by a stopped Redis once the probe is overdue, keeping its position', async () => {
    // Probes every second: the stream is accepted well before the probe is overdue.
    const [stopped, node] = await oneReadyNodeProbingEverySecond()
    try {
      process.kill(stopped.pid!, 'SIGSTOP')
      const stream = new RawSseStream(node!.eventsUrl(), { Authorization: `Bearer ${await signToken('erin')}` })
      await withTimeout(stream.ended, 20_000, () => `stream still open: ${JSON.stringify(stream.text)}`)
      expect(stream.status).toBe(200)
      // Accepted (the first retry: is the stream's own), then turned away with a jittered one.
      expect(stream.retries).toHaveLength(2)
      expect(stream.events.map((e) => [e.type, JSON.parse(e.data).reason])).toEqual([
        ['herald.unavailable', 'broker_unavailable'],
      ])
      expect(stream.ids).toEqual([])
      // A rejection, and not also an opened stream; and a shed line in the log.
      const metrics = await (await fetch(`${node!.url}/metrics`)).text()
      expect(metrics).toMatch(/^herald_connections_rejected_total\{reason="broker_unavailable"\} 1$/m)
      expect(metrics).toMatch(/^herald_connections_opened_total 0$/m)
      await node!.process.waitForOutput(/"shed":"broker_unavailable".*"msg":"stream turned away during setup"/, 10_000)
    } finally {
      if (stopped.pid !== undefined) process.kill(stopped.pid, 'SIGCONT')
      await stopNodes([node!])
    }
  })

  it('logs why it is unready no later than /readyz first fails for an overdue probe', async () => {
    // Probes every second: a log written only at the next probe tick would come up to a second late.
    const [paused, node] = await oneReadyNodeProbingEverySecond()
    try {
      await paused.cli('CLIENT', 'PAUSE', '8000', 'WRITE')
      const unreadyAtMs = await pollUntil(
        'readiness to fail',
        async () => ((await fetch(`${node!.url}/readyz`)).status === 503 ? Date.now() : undefined),
        { intervalMs: 20, maxIntervalMs: 20 },
      )
      const [line] = await node!.process.waitForOutput(/^.*pubsub probe overdue.*$/m)
      expect(JSON.parse(line).time).toBeLessThanOrEqual(unreadyAtMs)
    } finally {
      await paused.cli('CLIENT', 'UNPAUSE').catch(() => undefined)
      await stopNodes([node!])
    }
  })

  /** A Redis whose `gateway` user may do everything but SSUBSCRIBE; resolves to that user's URL. */
  async function redisRefusingSubscriptions(): Promise<string> {
    const refusing = await startRedis()
    redis = refusing
    await refusing.cli('ACL', 'SETUSER', 'gateway', 'on', '>gateway-password', '~*', '&*', '+@all', '-ssubscribe')
    const url = new URL(refusing.url)
    url.username = 'gateway'
    url.password = 'gateway-password'
    return url.href
  }

  it('turns away a stream whose setup Redis refuses, with a 200 and herald.unavailable rather than no answer', async () => {
    const [node] = await startNodes(await redisRefusingSubscriptions(), 1)
    try {
      const stream = new RawSseStream(node!.eventsUrl(), { Authorization: `Bearer ${await signToken('gil')}` })
      await withTimeout(stream.ended, 10_000, () => `stream still open: ${JSON.stringify(stream.text)}`)
      expect(stream.status).toBe(200)
      expect(stream.events.map((e) => [e.type, JSON.parse(e.data).reason])).toEqual([
        ['herald.unavailable', 'broker_unavailable'],
      ])
      expect(stream.ids).toEqual([])
      // Logged with Redis's message, not the command it refused, which names the user's channel.
      await node!.process.waitForOutput(/stream setup failed/)
      expect(node!.process.output()).not.toMatch(/\{u:gil\}/)
    } finally {
      await stopNodes([node!])
    }
  })

  it('stores publishes while its own subscriber is down, for the other nodes and the catch-up', async () => {
    const [node] = await startNodes(await redisRefusingSubscriptions(), 1, { PUBSUB_PROBE_INTERVAL_MS: '200' })
    try {
      await node!.process.waitForOutput(/pubsub probe overdue/)
      expect((await fetch(`${node!.url}/readyz`)).status).toBe(503)
      const published = await node!.publish({ user: 'hal', data: 1 })
      expect(published.status).toBe(200)
      expect(await redis!.cli('XLEN', streamKey('u:hal'))).toBe('1')
    } finally {
      await stopNodes([node!])
    }
  })

  it('ends a drain while Redis is stopped, without waiting on it to answer QUIT', async () => {
    const stopped = await startRedis()
    redis = stopped
    const [node] = await startNodes(stopped.url, 1)
    try {
      const stream = new RawSseStream(node!.eventsUrl(), { Authorization: `Bearer ${await signToken('fay')}` })
      await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'))
      // Stopped, not dead: its sockets stay open and nothing it is sent is ever answered.
      process.kill(stopped.pid!, 'SIGSTOP')
      node!.process.child.kill('SIGTERM')
      const code = await withTimeout(node!.process.exited, 15_000, () => `the node to exit: ${node!.process.output()}`)
      expect(code).toBe(0)
      await stream.ended
      expect(stream.retries.length).toBeGreaterThanOrEqual(2)
    } finally {
      if (stopped.pid !== undefined) process.kill(stopped.pid, 'SIGCONT')
      await stopNodes([node!])
    }
  })

  it('loads the functions library again after FUNCTION FLUSH, for backends that publish with FCALL', async () => {
    const server = await up()
    await server.cli('FUNCTION', 'FLUSH')
    // A backend in another language cannot load the library; it retries until a node has.
    const id = await pollUntil(
      'a direct FCALL publish to succeed',
      async () => {
        const reply = await server.cli('FCALL', 'herald_publish', '1', streamKey('u:carol'), 'raw', '{"n":1}')
        return /^\d+-\d+$/.test(reply) ? reply : undefined
      },
      { timeoutMs: 10_000 },
    )
    expect(await server.cli('XLEN', streamKey('u:carol'))).toBe('1')
    expect(id).toMatch(/^\d+-\d+$/)
  })

  it('answers a publish in flight when the node stops, instead of cutting it off unanswered', async () => {
    const paused = await startRedis()
    redis = paused
    const [node] = await startNodes(paused.url, 1)
    try {
      // Writes wait in Redis unanswered, as on a master that stalls; the publish is in flight.
      await paused.cli('CLIENT', 'PAUSE', '30000', 'WRITE')
      const answer = node!.publish({ user: 'gus', data: 1, idempotencyKey: 'in-flight' })
      await pollUntil('the publish to wait in Redis', async () =>
        (await paused.cli('CLIENT', 'LIST')).includes('cmd=fcall') ? true : undefined,
      )
      node!.process.child.kill('SIGTERM')
      const response = await answer
      // Its own answer, which says the message may be stored, not an empty reply.
      expect(response.status).toBe(503)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('HERALD_ERR_BROKER_UNAVAILABLE')
      const code = await withTimeout(node!.process.exited, 15_000, () => `the node to exit: ${node!.process.output()}`)
      expect(code).toBe(0)
    } finally {
      await paused.cli('CLIENT', 'UNPAUSE').catch(() => undefined)
      await stopNodes([node!])
    }
  })

  it('fails readiness when Pub/Sub stops delivering while every connection stays up', async () => {
    const redis = await up()
    const node = nodes[0]!
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200)
    // Writes (and with them SPUBLISH) are held; every connection stays open and answers PING.
    // Held until the test lifts it: a 2 s pause ran out before /readyz was asked on a slow run.
    await redis.cli('CLIENT', 'PAUSE', '30000', 'WRITE')
    try {
      await node.process.waitForOutput(/pubsub probe overdue/)
      const ready = await fetch(`${node.url}/readyz`)
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as any).reasons).toEqual(['broker_unavailable'])
    } finally {
      await redis.cli('CLIENT', 'UNPAUSE')
    }
    await node.process.waitForOutput(/pubsub probe delivering again/)
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200)
  })
})

const isReset = (event: { type: string }) => event.type === 'herald.reset'
