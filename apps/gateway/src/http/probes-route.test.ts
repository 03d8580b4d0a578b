import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  postJson,
  RawSseStream,
  RecordingEventSource,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
} from '../../test/harness.js'

describe('probes', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway()
  })
  afterAll(() => gateway.close())

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    return line === undefined ? Number.NaN : Number(line.split(' ').pop())
  }

  it('answers /healthz and /readyz while running', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${gateway.url}/readyz`)).json()).toEqual({ status: 'ready' })
  })

  it('answers HEAD like GET, and another method with 405 and Allow: GET, HEAD', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const head = await fetch(`${gateway.url}${path}`, { method: 'HEAD' })
      expect([head.status, await head.text()], `HEAD ${path}`).toEqual([200, ''])
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const response = await fetch(`${gateway.url}${path}`, { method })
        expect(response.status, `${method} ${path}`).toBe(405)
        expect(response.headers.get('allow')).toBe('GET, HEAD')
        expect(((await response.json()) as any).error.code).toBe('HERALD_ERR_METHOD_NOT_ALLOWED')
      }
    }
  })

  it('exposes Prometheus metrics whose values follow what the node does', async () => {
    const response = await fetch(`${gateway.url}/metrics`)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await response.text()
    for (const name of [
      'herald_connections',
      'herald_channels 0',
      'herald_connections_opened_total',
      'herald_messages_published_total',
      'herald_messages_delivered_total',
      'herald_delivery_latency_seconds_bucket',
      'herald_connections_rejected_total',
      'herald_resumes_total',
      'herald_messages_replayed_total',
      'herald_slow_consumer_disconnects_total',
      'herald_redis_up 1',
      'herald_redis_connection_errors_total 0',
      'herald_pubsub_probe_latency_seconds_bucket',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text, name).toContain(name)
    }

    const client = new RecordingEventSource(gateway.eventsUrl(), {
      token: await gateway.token('m'),
    })
    await client.waitForReady()
    expect(await metric('herald_connections')).toBe(1)
    expect(await metric('herald_connections_opened_total')).toBeGreaterThanOrEqual(1)
    const latencyBefore = await metric('herald_delivery_latency_seconds_count')
    const publishedBefore = await metric('herald_messages_published_total')
    const deliveredBefore = await metric('herald_messages_delivered_total')
    await gateway.publish({
      messages: [
        { user: 'm', data: 1 },
        { user: 'm', data: 2 },
      ],
    })
    await client.waitForEvents(2)
    expect(await metric('herald_messages_published_total')).toBe(publishedBefore + 2)
    expect(await metric('herald_messages_delivered_total')).toBe(deliveredBefore + 2)
    expect(await metric('herald_delivery_latency_seconds_count')).toBe(latencyBefore + 2)
    client.close()

    // Away for three messages: the resume replays them, counted apart from live deliveries.
    const replayedBefore = await metric('herald_messages_replayed_total')
    for (const n of [3, 4, 5]) await gateway.publish({ user: 'm', data: n })
    const back = new RecordingEventSource(gateway.eventsUrl(), {
      token: await gateway.token('m'),
      lastEventId: client.events[1]!.lastEventId,
    })
    await back.waitForReady()
    expect(back.payloads()).toEqual([3, 4, 5])
    expect(await metric('herald_messages_replayed_total')).toBe(replayedBefore + 3)
    expect(await metric('herald_messages_delivered_total')).toBe(deliveredBefore + 2)
    back.close()

    const refusedBefore = await metric('herald_connections_rejected_total{reason="auth"}')
    const refused = new RawSseStream(gateway.eventsUrl({ access_token: 'bad' }))
    await refused.ended
    expect(await metric('herald_connections_rejected_total{reason="auth"}')).toBe(refusedBefore + 1)
  })

  it('counts each channel its streams listen to once, however many share it, until the last one leaves', async () => {
    const open = async (user: string, topics: string) => {
      const stream = new RecordingEventSource(gateway.eventsUrl({ topics }), {
        token: await gateway.token(user, { topics: ['news', 'sport'] }),
      })
      await stream.waitForReady()
      return stream
    }
    expect(await metric('herald_channels')).toBe(0)
    const alice = await open('c-alice', 'news,sport')
    expect(await metric('herald_channels')).toBe(3)
    // A second tab of hers and another user's share news: only bob's own channel is new.
    const aliceAgain = await open('c-alice', 'news')
    const bob = await open('c-bob', 'news')
    expect(await metric('herald_channels')).toBe(4)
    alice.close()
    // sport's only stream has gone; alice's channel and news still have one each.
    await expect.poll(() => metric('herald_channels')).toBe(3)
    aliceAgain.close()
    bob.close()
    await expect.poll(() => metric('herald_channels')).toBe(0)
    expect(await metric('herald_connections')).toBe(0)
  })

  it('stays ready at its connection budget, where it still publishes and turns new streams away itself', async () => {
    const small = await startTestGateway({ MAX_CONNECTIONS: '1' })
    const client = new RecordingEventSource(small.eventsUrl(), { token: await small.token('full') })
    await client.waitForReady()
    const ready = await fetch(`${small.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
    const published = await postJson(`${small.url}/v1/publish`, { user: 'full', data: 1 }, TEST_API_KEY)
    expect(published.status).toBe(200)
    await client.waitForEvents(1, 'message')
    const turnedAway = new RawSseStream(small.eventsUrl({ access_token: await small.token('other') }))
    await turnedAway.ended
    expect(turnedAway.status).toBe(200)
    expect(turnedAway.events.map((e) => [e.type, JSON.parse(e.data).reason])).toEqual([
      ['herald.unavailable', 'over_capacity'],
    ])
    client.close()
    await small.close()
  })

  it('fails /readyz while draining', async () => {
    gateway.services.lifecycle.draining = true
    const response = await fetch(`${gateway.url}/readyz`)
    gateway.services.lifecycle.draining = false
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ status: 'not_ready', reasons: ['draining'] })
  })
})
