/**
 * Resuming in real Chromium, over both transports: across a gateway restart
 * (real redis-server, so history outlives the node; publishes while it is
 * down) and across a page reload (the last id kept in localStorage). Every
 * notification is counted: nothing lost, nothing twice. A stored id that is
 * not a resume token (one fetch cannot even send as a header) is ignored.
 */

import { HeraldPublisher } from '@herald/publisher'
import { freePort, type RedisServer, startRedis } from '@herald/redis-harness'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { signToken, startTestGateway, type TestGateway } from '../harness.js'
import {
  gatewayMetric,
  launchChromium,
  newTestContext,
  openClientTab,
  recordEventsRequests,
  sequence,
  TEST_PAGE_PATH,
  waitForReceived,
  waitForState,
} from './chromium.js'

describe.each(['fetch', 'eventsource'])('@herald/client resuming over %s, in Chromium', (transport) => {
  let browser: Browser
  let redis: RedisServer
  let publisher: HeraldPublisher
  let gateway: TestGateway | undefined
  let context: BrowserContext | undefined

  beforeAll(async () => {
    ;[browser, redis] = await Promise.all([launchChromium(), startRedis()])
    publisher = new HeraldPublisher({ redis: redis.url })
  })
  afterAll(async () => {
    await publisher.close()
    await browser.close()
    await redis.stop()
  })
  afterEach(async () => {
    await context?.close()
    context = undefined
    await gateway?.close()
    gateway = undefined
  })

  const startNode = (port: number) => startTestGateway({ REDIS_URL: redis.url, PORT: String(port) }, {}, ['--dev'])
  const publish = (user: string, n: number) => publisher.publish({ user }, 'seq', n)
  // EventSource dispatches only the types it is told to listen for.
  const clientOptions = { transport, types: ['seq'] }

  it('resumes after a gateway restart with nothing lost, including what was published while it was down', async () => {
    const user = `restart-${transport}`
    const port = await freePort()
    gateway = await startNode(port)
    const base = gateway.url
    context = await newTestContext(browser, base, () => signToken(user))
    const requests = recordEventsRequests(context)
    const tab = await openClientTab(context, base, clientOptions)
    await waitForState(tab, 'open')
    for (const n of sequence(5)) await publish(user, n)
    await waitForReceived(tab, 5)

    await gateway.close()
    gateway = undefined
    await waitForState(tab, 'reconnecting')
    for (const n of [5, 6, 7, 8, 9]) await publish(user, n)
    gateway = await startNode(port)
    await waitForState(tab, 'open')
    for (const n of [10, 11]) await publish(user, n)

    expect(await waitForReceived(tab, 12)).toEqual(sequence(12))
    expect(await gatewayMetric(base, 'herald_resumes_total{outcome="exact"}')).toBe(1)
    expect(await tab.evaluate(() => window.resets)).toEqual([])
    // The token travels in a header with fetch, and in the query only with EventSource.
    expect(requests.length).toBeGreaterThanOrEqual(2)
    for (const { url, authorization } of requests) {
      expect(url.searchParams.has('access_token')).toBe(transport === 'eventsource')
      expect(authorization?.startsWith('Bearer ') ?? false).toBe(transport === 'fetch')
    }
  })

  it('resumes after a reload from the id kept in localStorage', async () => {
    const user = `reload-${transport}`
    gateway = await startNode(0)
    const base = gateway.url
    context = await newTestContext(browser, base, () => signToken(user))
    const tab = await openClientTab(context, base, clientOptions)
    await waitForState(tab, 'open')
    for (const n of sequence(3)) await publish(user, n)
    await waitForReceived(tab, 3)

    await tab.goto('about:blank')
    for (const n of [3, 4, 5]) await publish(user, n)
    await tab.goto(`${base}${TEST_PAGE_PATH}`)
    await tab.waitForFunction(() => typeof window.startClient === 'function')
    await tab.evaluate((o) => window.startClient(o), clientOptions)
    expect(await waitForReceived(tab, 3)).toEqual([3, 4, 5])
    expect(await gatewayMetric(base, 'herald_resumes_total{outcome="exact"}')).toBe(1)
  })

  it.each(['u1234abcd:1-0\u00e9\u20ac', 'x\ny'])(
    'ignores a stored id that is not a resume token (%j), and connects fresh',
    async (stored) => {
      const user = `bad-stored-${transport}`
      gateway = await startNode(0)
      const base = gateway.url
      context = await newTestContext(browser, base, () => signToken(user))
      const tab = await context.newPage()
      await tab.goto(`${base}${TEST_PAGE_PATH}`)
      await tab.waitForFunction(() => typeof window.startClient === 'function')
      await tab.evaluate(
        ([key, value]) => localStorage.setItem(key!, value!),
        [`herald:last-event-id:${base}/v1/events|${user}`, stored],
      )
      await tab.evaluate((o) => window.startClient(o), clientOptions)
      await waitForState(tab, 'open')
      for (const n of sequence(2)) await publish(user, n)
      expect(await waitForReceived(tab, 2)).toEqual(sequence(2))
      // Fresh: no position was sent, so none was resumed or reset.
      expect(await gatewayMetric(base, 'herald_resumes_total{outcome="exact"}')).toBe(0)
      expect(await gatewayMetric(base, 'herald_resumes_total{outcome="reset"}')).toBe(0)
      expect(await tab.evaluate(() => window.resets)).toEqual([])
    },
  )
})
