/**
 * Event types a native EventSource dispatches as its own (`error`, `open`), in real Chromium:
 * publishers refuse them, and a client that still gets one (history from an older publisher,
 * or a raw XADD) keeps its stream over both transports instead of reading a connection error,
 * reconnecting, and replaying the same event before `herald.ready` for ever.
 */

import { HeraldPublisher, PublishError } from '@herald/publisher'
import { pubsubChannel, streamKey } from '@herald/publisher/internal'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { signToken, startTestGateway, type TestGateway } from '../harness.js'
import {
  gatewayMetric,
  launchChromium,
  newTestContext,
  openClientTab,
  recordEventsRequests,
  TEST_PAGE_PATH,
  waitForReceived,
  waitForState,
} from './chromium.js'

let redis: RedisServer
let raw: Redis
let publisher: HeraldPublisher

beforeAll(async () => {
  redis = await startRedis()
  raw = new Redis(redis.url)
  publisher = new HeraldPublisher({ redis: redis.url })
})
afterAll(async () => {
  await publisher.close()
  raw.disconnect()
  await redis.stop()
})

/** What the functions before version 5 did for such a type: append and announce, unchecked. */
async function publishUnchecked(user: string, type: string, data: unknown): Promise<void> {
  const json = JSON.stringify(data)
  const id = (await raw.xadd(streamKey(`u:${user}`), '*', 'd', json, 't', type)) as string
  await raw.call('SPUBLISH', pubsubChannel(`u:${user}`), `${id}\n${type}\n${json}`)
}

describe('publishing a type EventSource reserves', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({ REDIS_URL: redis.url })
  })
  afterAll(async () => {
    await gateway.close()
  })

  it.each(['error', 'open'])('refuses %s over HTTP, in the SDK and in the Redis functions', async (type) => {
    const http = await gateway.publish({ user: 'refused', type, data: 1 })
    expect(http.status).toBe(400)
    expect(http.body.error.code).toBe('HERALD_ERR_BODY_INVALID')
    expect(http.body.error.message).toMatch(/^type: .*EventSource/)
    const batch = await gateway.publish({
      messages: [
        { user: 'refused', data: 1 },
        { user: 'refused', type, data: 2 },
      ],
    })
    expect([batch.status, batch.body.error.message]).toEqual([400, expect.stringMatching(/^messages\[1\]\.type: /)])

    const sdk = publisher.publish({ user: 'refused' }, type, 1)
    await expect(sdk).rejects.toBeInstanceOf(PublishError)
    await expect(sdk).rejects.toMatchObject({ code: 'HERALD_ERR_INVALID' })

    const stream = streamKey('u:refused')
    await expect(raw.call('FCALL', 'herald_publish', 1, stream, type, '1')).rejects.toThrow(/^HERALD_ERR_TYPE /)
    await expect(
      raw.call('FCALL', 'herald_publish_batch', 2, stream, stream, 50, 3600, 3600, 0, 'ok', '1', 0, type, '2'),
    ).rejects.toThrow(/^HERALD_ERR_TYPE message 2: /)
    expect(await raw.exists(stream)).toBe(0)
  })

  it('accepts message, which is what an event without a type arrives as', async () => {
    expect((await gateway.publish({ user: 'accepted', type: 'message', data: 1 })).status).toBe(200)
    expect(await raw.call('FCALL', 'herald_publish', 1, streamKey('u:accepted'), 'message', '2')).toMatch(/^\d+-\d+$/)
  })
})

describe.each(['fetch', 'eventsource'])('@herald/client over %s, given an event typed error or open', (transport) => {
  let browser: Browser
  let gateway: TestGateway | undefined
  let context: BrowserContext | undefined

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser.close()
  })
  afterEach(async () => {
    await context?.close()
    context = undefined
    await gateway?.close()
    gateway = undefined
  })

  const startNode = (port = 0) => startTestGateway({ REDIS_URL: redis.url, PORT: String(port) }, {}, ['--dev'])

  it('keeps streaming, live and on resume, and delivers the event only where the app listens for it', async () => {
    const user = `reserved-${transport}`
    gateway = await startNode()
    const base = gateway.url
    context = await newTestContext(browser, base, () => signToken(user))
    const requests = recordEventsRequests(context)
    // The app does not listen for these types: fetch hands every type to onNotification,
    // EventSource only the ones it listens for.
    const options = { transport, types: ['seq'] }
    const tab = await openClientTab(context, base, options)
    await waitForState(tab, 'open')
    await publisher.publish({ user }, 'seq', 0)
    await waitForReceived(tab, 1)
    const savedPosition = await tab.evaluate(() => JSON.stringify(Object.entries(localStorage)))
    await publishUnchecked(user, 'error', 'error-event')
    await publishUnchecked(user, 'open', 'open-event')
    await publisher.publish({ user }, 'seq', 1)
    const live = transport === 'fetch' ? [0, 'error-event', 'open-event', 1] : [0, 1]
    expect(await waitForReceived(tab, live.length)).toEqual(live)
    // One stream throughout: the event was not taken for a connection failure.
    expect(requests).toHaveLength(1)
    await tab.close()

    // Resuming from before them replays them ahead of herald.ready, which must not stop the replay either.
    const again = await context.newPage()
    await again.goto(`${base}${TEST_PAGE_PATH}`)
    await again.waitForFunction(() => typeof window.startClient === 'function')
    await again.evaluate(
      ([saved, o]) => {
        for (const [key, value] of JSON.parse(saved) as Array<[string, string]>) localStorage.setItem(key, value)
        window.startClient(o)
      },
      [savedPosition, options] as const,
    )
    await waitForState(again, 'open')
    await publisher.publish({ user }, 'seq', 2)
    const replayed = transport === 'fetch' ? ['error-event', 'open-event', 1, 2] : [1, 2]
    expect(await waitForReceived(again, replayed.length)).toEqual(replayed)
    expect(requests).toHaveLength(2)
    expect(await gatewayMetric(base, 'herald_resumes_total{outcome="exact"}')).toBe(1)
  })

  it('delivers them to an app that listens for them, and a connection error is no notification', async () => {
    const user = `listened-${transport}`
    gateway = await startNode()
    const port = Number(new URL(gateway.url).port)
    const base = gateway.url
    context = await newTestContext(browser, base, () => signToken(user))
    const requests = recordEventsRequests(context)
    const tab = await openClientTab(context, base, { transport, types: ['seq', 'error', 'open'] })
    await waitForState(tab, 'open')
    await publishUnchecked(user, 'error', 'error-event')
    await publishUnchecked(user, 'open', 'open-event')
    await publisher.publish({ user }, 'seq', 0)
    expect(await waitForReceived(tab, 3)).toEqual(['error-event', 'open-event', 0])
    expect(requests).toHaveLength(1)

    // A real connection error (the node goes away) still reconnects, and delivers nothing.
    await gateway.close()
    gateway = undefined
    await waitForState(tab, 'reconnecting')
    gateway = await startNode(port)
    await waitForState(tab, 'open')
    await publisher.publish({ user }, 'seq', 1)
    expect(await waitForReceived(tab, 4)).toEqual(['error-event', 'open-event', 0, 1])
  })
})
