/**
 * The `--dev` demo page in Chromium: `<herald-bell>` fed by @herald/client
 * shows what is published, and behaves as an accessible disclosure.
 */

import { generateKeyPairSync } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signToken, startTestGateway, type TestGateway } from '../harness.js'
import { gatewayMetric, launchChromium } from './chromium.js'

describe('the demo page and <herald-bell>, in Chromium', () => {
  let browser: Browser
  let gateway: TestGateway
  let page: Page

  beforeAll(async () => {
    ;[browser, gateway] = await Promise.all([launchChromium(), startTestGateway({}, {}, ['--dev'])])
    page = await browser.newPage()
    await page.goto(`${gateway.url}/demo`)
    await page.locator('#status[data-state="connected"]').waitFor()
  })
  afterAll(async () => {
    await browser.close()
    await gateway.close()
  })

  const bellButton = () => page.getByRole('button', { name: /^Notifications, \d+ unread$/ })

  it('a published notification reaches the bell: badge, label and list', async () => {
    const data = { title: 'Deploy finished', body: 'api v2.4.1 is live' }
    expect((await gateway.publish({ user: 'demo', type: 'deploy.done', data })).status).toBe(200)
    await page.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor()
    expect(await page.locator('#bell').evaluate((bell) => bell.shadowRoot!.querySelector('.badge')!.textContent)).toBe(
      '1',
    )

    await bellButton().click()
    expect(await bellButton().getAttribute('aria-expanded')).toBe('true')
    const panel = page.getByRole('region', { name: 'Notifications' })
    await panel.getByText('Deploy finished').waitFor()
    await panel.getByText('api v2.4.1 is live').waitFor()

    await page.keyboard.press('Escape')
    expect(await panel.isHidden()).toBe(true)
    expect(await bellButton().getAttribute('aria-expanded')).toBe('false')
    expect(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.className)).toBe('bell')
  })

  it('the demo form publishes, the bell shows it, and mark-all-read clears the badge', async () => {
    await page.locator('#message').fill('Hello from the form')
    await page.locator('#send').click()
    await page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor()
    await bellButton().click()
    const panel = page.getByRole('region', { name: 'Notifications' })
    await panel.getByText('Hello from the form').waitFor()
    await panel.getByRole('button', { name: 'Mark all read' }).click()
    await page.getByRole('button', { name: 'Notifications, 0 unread' }).waitFor()
    expect(
      await page.locator('#bell').evaluate((bell) => bell.shadowRoot!.querySelector('.badge')!.hasAttribute('hidden')),
    ).toBe(true)
    await page.mouse.click(5, 400)
    expect(await panel.isHidden()).toBe(true)
  })

  it('configured by attributes alone, the bell gets one token from token-url and opens one stream', async () => {
    const context = await browser.newContext()
    let tokenRequests = 0
    await context.route(`${gateway.url}/app`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><script type="module" src="/demo/herald-bell.js"></script>
          <herald-bell src="/v1/events" token-url="/api/herald-token" topics="news"></herald-bell>`,
      }),
    )
    await context.route(`${gateway.url}/api/herald-token`, async (route) => {
      tokenRequests++
      expect(route.request().method()).toBe('POST')
      await route.fulfill({ json: { token: await signToken('carol', { topics: ['news'] }) } })
    })
    const opened = await gatewayMetric(gateway.url, 'herald_connections_opened_total')
    const tab = await context.newPage()
    await tab.goto(`${gateway.url}/app`)
    await tab.locator('herald-bell[state="open"]').waitFor()
    expect((await gateway.publish({ topic: 'news', type: 'post', data: { title: 'Launch day' } })).status).toBe(200)
    await tab.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor()
    expect(tokenRequests).toBe(1)
    expect(await gatewayMetric(gateway.url, 'herald_connections_opened_total')).toBe(opened + 1)
    await context.close()
  })

  it('takes its "No token" message down once a token comes', async () => {
    const tab = await browser.newPage()
    let minted = 0
    try {
      await tab.route(`${gateway.url}/dev/token`, (route) =>
        minted++ === 0
          ? route.fulfill({ status: 503, json: { error: { code: 'HERALD_ERR_INTERNAL', message: 'minting is down' } } })
          : route.continue(),
      )
      await tab.goto(`${gateway.url}/demo`)
      await tab.locator('#result.error', { hasText: 'No token: minting is down' }).waitFor()
      await tab.locator('#status[data-state="connected"]').waitFor()
      expect(await tab.locator('#result').textContent()).toBe('')
    } finally {
      await tab.close()
    }
  })

  it('says why it cannot connect when the gateway mints no tokens (JWT_PUBLIC_KEY), not "connecting…" alone', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString()
    const verifying = await startTestGateway({ JWT_SECRET: '', JWT_PUBLIC_KEY: pem }, {}, ['--dev'])
    const tab = await browser.newPage()
    try {
      await tab.goto(`${verifying.url}/demo`)
      await tab.locator('#result.error', { hasText: 'No token: token minting needs JWT_SECRET' }).waitFor()
      expect(await tab.locator('#status').getAttribute('data-state')).toBe('connecting')
    } finally {
      await tab.close()
      await verifying.close()
    }
  })
})
