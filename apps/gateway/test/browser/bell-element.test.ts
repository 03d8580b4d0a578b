/**
 * `<herald-bell>` fed through its `client` property by a stand-in source, in
 * Chromium: what only a real browser shows, focus and keyboard, and the badge
 * past what the list keeps.
 */

import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../harness.js'
import { launchChromium } from './chromium.js'

const BELL_PAGE = `<!doctype html><meta charset="utf-8">
<script type="module">
import '/demo/herald-bell.js'
const listeners = new Set()
let n = 0
window.notify = (count) => {
  for (let i = 0; i < count; i++, n++) {
    const notification = { type: 'note', id: 'u00000001:' + n + '-0', data: { title: 'Note ' + n, body: 'Body of note ' + n } }
    for (const listener of listeners) listener(notification)
  }
}
const bell = document.createElement('herald-bell')
bell.id = 'bell'
bell.setAttribute('max-items', '5')
bell.client = {
  state: 'open',
  onNotification: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
  onReset: () => () => {},
  onStateChange: () => () => {},
}
document.body.append(bell)
window.ready = true
</script>`

describe('<herald-bell>, in Chromium', () => {
  let browser: Browser
  let gateway: TestGateway
  let page: Page

  beforeAll(async () => {
    ;[browser, gateway] = await Promise.all([launchChromium(), startTestGateway({}, {}, ['--dev'])])
    const context = await browser.newContext()
    await context.route(`${gateway.url}/bell-page`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: BELL_PAGE }),
    )
    page = await context.newPage()
    await page.goto(`${gateway.url}/bell-page`)
    await page.waitForFunction(() => (window as { ready?: boolean }).ready === true)
  })
  afterAll(async () => {
    await browser.close()
    await gateway.close()
  })

  const bellButton = () => page.getByRole('button', { name: /^Notifications, \d+ unread$/ })
  const badge = () => page.locator('#bell').evaluate((bell) => bell.shadowRoot!.querySelector('.badge')!.textContent)
  const notify = (count: number) => page.evaluate((c) => (window as { notify?: (n: number) => void }).notify!(c), count)

  it('counts unread notifications beyond max-items, up to 99+, until all are marked read', async () => {
    await notify(7)
    await page.getByRole('button', { name: 'Notifications, 7 unread' }).waitFor()
    expect(await badge()).toBe('7')
    await notify(93)
    await page.getByRole('button', { name: 'Notifications, 100 unread' }).waitFor()
    expect(await badge()).toBe('99+')
    await bellButton().click()
    const panel = page.getByRole('region', { name: 'Notifications' })
    expect(await panel.getByRole('listitem').count()).toBe(5)
    await panel.getByRole('button', { name: 'Mark all read' }).click()
    await page.getByRole('button', { name: 'Notifications, 0 unread' }).waitFor()
    await page.keyboard.press('Escape')
    expect(await panel.isHidden()).toBe(true)
  })

  it('announces a burst once, with its count and its latest, rather than only the last as if it came alone', async () => {
    await notify(3)
    const live = await page.locator('#bell').evaluate((bell) => bell.shadowRoot!.querySelector('.live')!.textContent)
    // Earlier tests' notifications may fall in the same burst: the count covers at least these three.
    const count = /^(\d+) new notifications, the latest: Note \d+$/.exec(live ?? '')?.[1]
    expect(Number(count), String(live)).toBeGreaterThanOrEqual(3)
  })

  it('closes on Escape after a click on a notification moved focus out of the bell', async () => {
    await bellButton().click()
    const panel = page.getByRole('region', { name: 'Notifications' })
    await panel.getByText('Body of note 99').click()
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('BODY')
    await page.keyboard.press('Escape')
    expect(await panel.isHidden()).toBe(true)
    expect(await bellButton().getAttribute('aria-expanded')).toBe('false')
    expect(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.className)).toBe('bell')
    // Closed, Escape is the page's again: pressing it does not reopen or move anything.
    await page.keyboard.press('Escape')
    expect(await panel.isHidden()).toBe(true)
  })
})
