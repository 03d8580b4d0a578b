/**
 * A stream still setting up when one of its channels' slots moves. It is not turned away: it
 * finishes its replay, waits for the channel's release, and then reads what the move cost it
 * from its own positions before `herald.ready`, since the channel's catch-up starts from the
 * live streams' positions only. Here the stream replays a long history its client does not read yet, while the slot of
 * its topic moves and messages are published to the topic during the migration: their
 * announcements reach the new master, where nothing listens yet.
 */

import http from 'node:http'
import { type ParsedEvent, SseParser } from '@herald/protocol'
import { HeraldPublisher } from '@herald/publisher'
import { type RedisCluster, startRedisCluster } from '@herald/redis-harness'
import { afterEach, expect, it } from 'vitest'
import { RawSseStream, signToken, withTimeout } from './harness.js'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

let cluster: RedisCluster | undefined
let nodes: GatewayNode[] = []
let publisher: HeraldPublisher | undefined
afterEach(async () => {
  await publisher?.close()
  await stopNodes(nodes)
  await cluster?.stop()
})

it('lets a stream in setup through a slot move of its topic: every message once, in order, none turned away', {
  timeout: 90_000,
}, async () => {
  cluster = await startRedisCluster()
  nodes = await startNodes(cluster.url, 1, { PUBSUB_PROBE_INTERVAL_MS: '250' })
  const [node] = nodes as [GatewayNode]
  publisher = new HeraldPublisher({ redis: cluster.url })
  const token = await signToken('alice', { topics: ['news'] })
  const url = node.eventsUrl({ topics: 'news' })

  // A tab's position on both channels before anything was published, from a first visit.
  const visit = new RawSseStream(url, { authorization: `Bearer ${token}` })
  await visit.until((s) => s.events.some((e) => e.type === 'herald.ready'), 10_000, 'herald.ready')
  visit.close()
  const position = visit.ids.at(-1)!
  // 300 entries of 60 KB for alice: a replay that a client who does not read holds up. And three
  // topic entries, one page, which the stream has read whole before the replay starts.
  for (let batch = 0; batch < 3; batch++) {
    const messages = Array.from({ length: 100 }, (_, n) => ({
      target: { user: 'alice' },
      data: `a${100 * batch + n}`.padEnd(60_000),
    }))
    await publisher.publishBatch(messages)
  }
  let published = 0
  const publishNews = async (count: number) => {
    for (let i = 0; i < count; i++) await publisher!.publish({ topic: 'news' }, null, `n${published++}`, null)
  }
  await publishNews(3)

  // The client reads nothing yet: the response waits unread, and the socket with it.
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${token}`, 'last-event-id': position } }, resolve)
      .on('error', reject)
  })
  expect(response.statusCode).toBe(200)
  // The head leaves only with the replay's first writes, so the replay is under way.

  const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', '{t:news}'))
  const from = await cluster.slotOwner(slot)
  const to = cluster.masters.find((master) => master !== from)!
  // Published while the slot migrates: stored on the new master and announced there, to no one.
  await cluster.moveSlot(slot, to, () => publishNews(5))
  await node.process.waitForOutput(/holding their channels until caught up/)
  await publishNews(5)

  const events: ParsedEvent[] = []
  // Each message's data parsed once, as it arrives: the predicates below run on every chunk
  // (about 600 for these 18 MB), and parsing all so far each time cost 4 s of CPU, 30 s under load.
  const parsed: string[] = []
  const parser = new SseParser({
    onEvent: (event) => {
      events.push(event)
      if (event.type === 'message') parsed.push(JSON.parse(event.data))
    },
  })
  const messages = () => parsed
  const news = () => messages().filter((data) => data.startsWith('n'))
  let notify = () => {}
  response.setEncoding('utf8')
  response.on('data', (chunk: string) => {
    parser.push(chunk)
    notify()
  })
  const received = (what: string, predicate: () => boolean) =>
    withTimeout(
      new Promise<void>((resolve) => {
        notify = () => {
          if (predicate()) resolve()
        }
        notify()
      }),
      30_000,
      () =>
        `${what}; received ${messages().length} messages, news ${JSON.stringify(news())}, events ${[...new Set(events.map((e) => e.type))]}`,
    )
  // A last topic message once all else is in: anything duplicated would have come before it.
  await received('every message published so far', () => messages().length === 300 + published)
  await publishNews(1)
  await received('the last topic message', () => news().includes(`n${published - 1}`))
  response.destroy()

  const protocolEvents = events.filter((event) => event.type.startsWith('herald.'))
  expect(protocolEvents.map((event) => event.type)).toEqual(['herald.ready'])
  // Replayed before it: alice's 300, the topic's first 3, and the 10 read again after the move.
  expect(JSON.parse(protocolEvents[0]!.data)).toMatchObject({ resume: 'exact', replayed: 313 })
  expect(news()).toEqual(Array.from({ length: published }, (_, n) => `n${n}`))
  const alice = messages().filter((data) => data.startsWith('a'))
  expect(alice.map((data) => data.trimEnd())).toEqual(Array.from({ length: 300 }, (_, n) => `a${n}`))
})
