/**
 * Refusals in real Chromium, over both transports: a stream the gateway refuses for good
 * reaches onError and stops the client, and a refused token is replaced by a new one.
 * EventSource shows neither status nor body, so its transport asks the gateway again.
 */

import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { signToken, startTestGateway, type TestGateway } from '../harness.js'
import { launchChromium, newTestContext, openClientTab, waitForState } from './chromium.js'

describe.each(['fetch', 'eventsource'])('@herald/client refused over %s, in Chromium', (transport) => {
  let browser: Browser
  let gateway: TestGateway
  let context: BrowserContext | undefined

  beforeAll(async () => {
    ;[browser, gateway] = await Promise.all([launchChromium(), startTestGateway({}, {}, ['--dev'])])
  })
  afterAll(async () => {
    await browser.close()
    await gateway.close()
  })
  afterEach(async () => {
    await context?.close()
    context = undefined
  })

  it('reports a topic the token does not grant to onError, and stops', async () => {
    context = await newTestContext(browser, gateway.url, () => signToken('olga'))
    const tab = await openClientTab(context, gateway.url, { transport, topics: ['secret'] })
    await tab.waitForFunction(() => window.errors.length > 0, undefined, { polling: 20, timeout: 15_000 })
    expect(await tab.evaluate(() => window.errors.map((e) => [e.status, e.code]))).toEqual([
      [403, 'HERALD_ERR_TOPIC_FORBIDDEN'],
    ])
    await waitForState(tab, 'closed')
  })

  it('stops on a 204 from a server in front of the gateway, which tells it to stop reconnecting', async () => {
    context = await newTestContext(browser, gateway.url, () => signToken('quinn'))
    let answered = 0
    await context.route(`${gateway.url}/v1/events**`, (route) => {
      answered++
      return route.fulfill({ status: 204 })
    })
    const tab = await openClientTab(context, gateway.url, { transport })
    await tab.waitForFunction(() => window.errors.length > 0, undefined, { polling: 20, timeout: 15_000 })
    expect(await tab.evaluate(() => window.errors.map((e) => [e.status, e.code]))).toEqual([[204, 'HTTP_204']])
    await waitForState(tab, 'closed')
    // One attempt; over EventSource, one more plain request to read why it did not open.
    expect(answered).toBe(transport === 'fetch' ? 1 : 2)
  })

  it('asks for a new token after the gateway refuses one, and opens with it', async () => {
    let minted = 0
    context = await newTestContext(browser, gateway.url, async () =>
      ++minted === 1 ? signToken('piet', {}, 'a-secret-the-gateway-does-not-know-at-all') : signToken('piet'),
    )
    const tab = await openClientTab(context, gateway.url, { transport })
    await waitForState(tab, 'open')
    expect(minted).toBe(2)
    expect(await tab.evaluate(() => window.errors)).toEqual([])
  })
})
