/**
 * `<herald-bell>` fed through its `client` property by a stand-in source, in
 * Chromium: what only a real browser shows, focus and keyboard, and the badge
 * past what the list keeps; then a bell switched to another user, inside a
 * modal dialog, and near the viewport's edges.
 */

import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { signToken, startTestGateway, type TestGateway } from '../harness.js'
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
const resets = new Set()
const states = new Set()
window.source = {
  state: 'open',
  onNotification: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
  onReset: (listener) => (resets.add(listener), () => resets.delete(listener)),
  onStateChange: (listener) => (states.add(listener), () => states.delete(listener)),
}
window.subscriptions = () => listeners.size + resets.size + states.size
bell.client = window.source
const after = document.createElement('button')
after.id = 'after'
after.textContent = 'After the bell'
document.body.append(bell, after)
window.ready = true
</script>`

/** WCAG's contrast ratio of two computed \`rgb(…)\` colours. */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r = 0, g = 0, b = 0] = (color.match(/\d+(\.\d+)?/g) ?? []).map(Number).map((v) => {
      const c = v / 255
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (light + 0.05) / (dark + 0.05)
}

/** Chromium and a dev gateway, with `body` served as the page at `path` on the gateway's origin. */
async function servePage(path: string, body: string) {
  const [browser, gateway] = await Promise.all([launchChromium(), startTestGateway({}, {}, ['--dev'])])
  const context = await browser.newContext()
  await context.route(`${gateway.url}${path}`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body }),
  )
  return { browser, gateway, context, page: await context.newPage() }
}

describe('<herald-bell>, in Chromium', () => {
  let browser: Browser
  let gateway: TestGateway
  let page: Page

  beforeAll(async () => {
    ;({ browser, gateway, page } = await servePage('/bell-page', BELL_PAGE))
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

  it("lets go of the app's client when taken out of the page, and listens again when put back", async () => {
    const subscriptions = () => page.evaluate(() => (window as unknown as { subscriptions(): number }).subscriptions())
    const before = await subscriptions()
    await page.evaluate(() => {
      const w = window as unknown as Record<string, any>
      w.extraBells = Array.from({ length: 50 }, () => {
        const bell = document.createElement('herald-bell') as HTMLElement & { client: unknown }
        bell.client = w.source
        return bell
      })
      document.body.append(...w.extraBells)
    })
    expect(await subscriptions()).toBe(before + 150)
    await page.evaluate(() => {
      for (const bell of (window as unknown as { extraBells: HTMLElement[] }).extraBells) bell.remove()
    })
    expect(await subscriptions()).toBe(before)
    // Put back, a bell listens again.
    await page.evaluate(() => document.body.append((window as unknown as { extraBells: HTMLElement[] }).extraBells[0]!))
    expect(await subscriptions()).toBe(before + 3)
    await page.evaluate(() => (window as unknown as { extraBells: HTMLElement[] }).extraBells[0]!.remove())
    expect(await subscriptions()).toBe(before)
  })

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

  it('says a row is unread in words and with a border, not by its background alone, at AA contrast', async () => {
    await notify(1)
    await bellButton().click()
    const panel = page.getByRole('region', { name: 'Notifications' })
    expect(await panel.getByRole('listitem').first().textContent()).toMatch(/^Unread: Note \d+/)
    const colours = await page.locator('#bell').evaluate((bell) => {
      const row = bell.shadowRoot!.querySelector('li.unread')!
      const style = getComputedStyle(row)
      const panelStyle = getComputedStyle(bell.shadowRoot!.querySelector('.panel')!)
      return {
        row: style.backgroundColor,
        border: style.borderLeftColor,
        borderWidth: style.borderLeftWidth,
        panel: panelStyle.backgroundColor,
        time: getComputedStyle(row.querySelector('time')!).color,
      }
    })
    expect(contrast(colours.time, colours.row)).toBeGreaterThanOrEqual(4.5)
    expect(contrast(colours.border, colours.panel)).toBeGreaterThanOrEqual(3)
    expect(colours.borderWidth).toBe('3px')
    await page.keyboard.press('Escape')
  })

  it("follows the page's color-scheme: dark where the page declares it, light otherwise, at AA contrast either way", async () => {
    await notify(1)
    await bellButton().click()
    const coloursIn = (scheme: string) =>
      page.locator('#bell').evaluate((bell, colorScheme) => {
        document.documentElement.style.colorScheme = colorScheme
        const root = bell.shadowRoot!
        const row = root.querySelector('li.unread')!
        const panel = getComputedStyle(root.querySelector('.panel')!)
        return {
          panel: panel.backgroundColor,
          text: panel.color,
          row: getComputedStyle(row).backgroundColor,
          border: getComputedStyle(row).borderLeftColor,
          time: getComputedStyle(row.querySelector('time')!).color,
        }
      }, scheme)
    const dark = await coloursIn('dark')
    const light = await coloursIn('')
    expect(light.panel).toBe('rgb(255, 255, 255)')
    expect(contrast(dark.panel, 'rgb(0, 0, 0)')).toBeLessThan(contrast(dark.panel, 'rgb(255, 255, 255)'))
    for (const colours of [dark, light]) {
      expect(contrast(colours.text, colours.panel)).toBeGreaterThanOrEqual(4.5)
      expect(contrast(colours.time, colours.row)).toBeGreaterThanOrEqual(4.5)
      expect(contrast(colours.border, colours.panel)).toBeGreaterThanOrEqual(3)
    }
    await page.keyboard.press('Escape')
  })

  it('keeps focus on "Mark all read" once pressed, and the panel in reach of the keyboard', async () => {
    await notify(2)
    await bellButton().focus()
    await page.keyboard.press('Enter')
    await page.keyboard.press('Tab')
    const focused = () => page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.textContent)
    expect(await focused()).toBe('Mark all read')
    await page.keyboard.press('Enter')
    await page.getByRole('button', { name: 'Notifications, 0 unread' }).waitFor()
    expect(await focused()).toBe('Mark all read')
    const markRead = page.getByRole('region', { name: 'Notifications' }).getByRole('button', { name: 'Mark all read' })
    expect(await markRead.getAttribute('aria-disabled')).toBe('true')
    // Pressed again with nothing unread, it does nothing, and focus stays.
    await page.keyboard.press('Enter')
    expect(await focused()).toBe('Mark all read')
    await page.keyboard.press('Escape')
  })

  it('closes its panel when Tab moves focus past it into the page', async () => {
    await bellButton().focus()
    await page.keyboard.press('Enter')
    const panel = page.getByRole('region', { name: 'Notifications' })
    expect(await panel.isHidden()).toBe(false)
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('after')
    expect(await panel.isHidden()).toBe(true)
    expect(await bellButton().getAttribute('aria-expanded')).toBe('false')
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
    // The newest row's text: not a control, so the click moves focus to the body.
    await panel.getByRole('listitem').first().locator('.body').click()
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

/** Stand-in sources, one per user, that the page drives: `window.sources.alice.notify()`. */
const SOURCES_SCRIPT = `
window.makeSource = (user) => {
  const notifications = new Set()
  const resets = new Set()
  let n = 0
  return {
    state: 'open',
    onNotification: (listener) => (notifications.add(listener), () => notifications.delete(listener)),
    onReset: (listener) => (resets.add(listener), () => resets.delete(listener)),
    onStateChange: () => () => {},
    close() {},
    notify() {
      n++
      const notification = { type: 'note', id: 'u00000001:' + n + '-0', data: { title: user + ' note ' + n, body: 'For ' + user } }
      for (const listener of notifications) listener(notification)
    },
    reset() {
      for (const listener of resets) listener({ reason: 'history_trimmed' })
    },
  }
}`

const SWAP_PAGE = `<!doctype html><meta charset="utf-8">
<script type="module">
import '/demo/herald-bell.js'
${SOURCES_SCRIPT}
window.ready = true
</script>
<herald-bell id="bell"></herald-bell>
<dialog id="dialog"><p>Settings</p><herald-bell id="dialog-bell"></herald-bell></dialog>`

interface BellView {
  unread: number
  items: number
  notice: string | null
  live: string
  titles: string[]
}

describe('<herald-bell> given another source, in a dialog, and near the edges, in Chromium', () => {
  let browser: Browser
  let gateway: TestGateway
  let page: Page

  beforeAll(async () => {
    let context: BrowserContext
    ;({ browser, gateway, context, page } = await servePage('/swap-page', SWAP_PAGE))
    for (const user of ['alice', 'bob'])
      await context.route(`${gateway.url}/token-${user}`, async (route) =>
        route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({ token: await signToken(user) }),
        }),
      )
  })
  afterAll(async () => {
    await browser.close()
    await gateway.close()
  })

  beforeEach(async () => {
    await page.setViewportSize({ width: 1280, height: 720 })
    await page.goto(`${gateway.url}/swap-page`)
    await page.waitForFunction(() => (window as { ready?: boolean }).ready === true)
  })

  /** What the bell `id` shows: count, list (opened to render it), notice and announcement. */
  const view = (id: string) =>
    page.evaluate((id): BellView => {
      const bell = document.getElementById(id) as HTMLElement & { unread: number; items: { title: string }[] }
      const root = bell.shadowRoot!
      const notice = root.querySelector<HTMLElement>('.notice')!
      return {
        unread: bell.unread,
        items: root.querySelectorAll('li').length,
        notice: notice.hidden ? null : notice.textContent,
        live: root.querySelector('.live')!.textContent ?? '',
        titles: bell.items.map((item) => item.title),
      }
    }, id)

  it("starts empty when the app gives it another user's client: no list, count, notice or announcement", async () => {
    await page.evaluate(() => {
      const w = window as unknown as Record<string, any>
      w.alice = w.makeSource('alice')
      w.bob = w.makeSource('bob')
      const bell = document.getElementById('bell') as HTMLElement & { client: unknown; toggle(open: boolean): void }
      bell.client = w.alice
      w.alice.notify()
      w.alice.notify()
      w.alice.reset()
      bell.toggle(true)
    })
    expect(await view('bell')).toMatchObject({ unread: 2, items: 2, notice: 'Some notifications may be missing.' })
    await page.evaluate(() => {
      const w = window as unknown as Record<string, any>
      ;(document.getElementById('bell') as HTMLElement & { client: unknown }).client = w.bob
    })
    expect(await view('bell')).toEqual({ unread: 0, items: 0, notice: null, live: '', titles: [] })
    await page.evaluate(() => (window as unknown as Record<string, any>).bob.notify())
    expect(await view('bell')).toMatchObject({ unread: 1, items: 1, titles: ['bob note 1'] })
    // The same client again is no new source: the list stays.
    await page.evaluate(() => {
      const w = window as unknown as Record<string, any>
      ;(document.getElementById('bell') as HTMLElement & { client: unknown }).client = w.bob
    })
    expect(await view('bell')).toMatchObject({ unread: 1, titles: ['bob note 1'] })
  })

  it('starts empty when its token-url changes to another user, and keeps its list when only moved in the page', async () => {
    await page.evaluate((src) => {
      const bell = document.getElementById('bell')!
      bell.setAttribute('src', src)
      bell.setAttribute('token-url', '/token-alice')
    }, `${gateway.url}/v1/events`)
    await page.locator('#bell[state="open"]').waitFor()
    expect((await gateway.publish({ user: 'alice', type: 'note', data: { title: 'For alice' } })).status).toBe(200)
    await page.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor()
    // Moved: the new client resumes after what the list has.
    await page.evaluate(() => document.body.append(document.getElementById('bell')!))
    await page.locator('#bell[state="open"]').waitFor()
    expect(await view('bell')).toMatchObject({ unread: 1, titles: ['For alice'] })

    // The bell makes its new client in a microtask, over by the next evaluate.
    await page.evaluate(() => document.getElementById('bell')!.setAttribute('token-url', '/token-bob'))
    expect(await view('bell')).toMatchObject({ unread: 0, items: 0, titles: [] })
    await page.locator('#bell[state="open"]').waitFor()
    expect((await gateway.publish({ user: 'bob', type: 'note', data: { title: 'For bob' } })).status).toBe(200)
    await page.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor()
    expect((await view('bell')).titles).toEqual(['For bob'])
  })

  it('closes only its panel on Escape inside a modal dialog, and gives focus back to its button', async () => {
    await page.evaluate(() => (document.getElementById('dialog') as HTMLDialogElement).showModal())
    const button = page.locator('#dialog-bell').getByRole('button', { name: /^Notifications/ })
    await button.click()
    expect(await button.getAttribute('aria-expanded')).toBe('true')
    await page.keyboard.press('Escape')
    expect(await page.evaluate(() => (document.getElementById('dialog') as HTMLDialogElement).open)).toBe(true)
    expect(await button.getAttribute('aria-expanded')).toBe('false')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('dialog-bell')
    expect(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.className)).toBe('bell')
    // With the panel closed, Escape is the dialog's again.
    await page.keyboard.press('Escape')
    expect(await page.evaluate(() => (document.getElementById('dialog') as HTMLDialogElement).open)).toBe(false)
  })

  /** Places the bell (CSS for its host), opens its panel, and measures both against the viewport. */
  const openAt = async (style: string) => {
    await page.evaluate((style) => {
      const bell = document.getElementById('bell') as HTMLElement & { toggle(open: boolean): void }
      bell.toggle(false)
      bell.style.cssText = style
      bell.toggle(true)
    }, style)
    return page.evaluate(() => {
      const bell = document.getElementById('bell')!
      const panel = bell.shadowRoot!.querySelector('.panel')!.getBoundingClientRect()
      return {
        viewport: document.documentElement.clientWidth,
        bellRight: bell.getBoundingClientRect().right,
        left: panel.left,
        right: panel.right,
      }
    })
  }

  it('opens its panel inside the viewport, wherever the bell is', async () => {
    const nearRight = await openAt('position: absolute; top: 8px; right: 8px')
    // In a top bar's right corner, the panel hangs from the bell's right edge, as before.
    expect(nearRight.right).toBeCloseTo(nearRight.bellRight, 0)
    const nearLeft = await openAt('position: absolute; top: 8px; left: 8px')
    expect(nearLeft.left).toBeGreaterThanOrEqual(0)
    expect(nearLeft.right).toBeLessThanOrEqual(nearLeft.viewport)
    await page.setViewportSize({ width: 375, height: 700 })
    const centredOnPhone = await openAt('position: absolute; top: 8px; left: 45%')
    expect(centredOnPhone.left).toBeGreaterThanOrEqual(0)
    expect(centredOnPhone.right).toBeLessThanOrEqual(centredOnPhone.viewport)
  })

  it('keeps its open panel inside the viewport when the viewport narrows', async () => {
    // At the 1280 px beforeEach gives the page.
    const wide = await openAt('position: absolute; top: 8px; left: 45%')
    // Hanging from the bell's right edge, as a wide window leaves it.
    expect(wide.right).toBeCloseTo(wide.bellRight, 0)
    // Listened for after the bell's own listener, so it settles once the bell has placed the panel;
    // and only the resize to 375 px, not a late one from an earlier size change.
    const resized = page.evaluate(
      (width) =>
        new Promise<void>((resolve) => {
          const narrowed = () => {
            if (document.documentElement.clientWidth !== width) return
            window.removeEventListener('resize', narrowed)
            resolve()
          }
          window.addEventListener('resize', narrowed)
        }),
      375,
    )
    await page.setViewportSize({ width: 375, height: 720 })
    await resized
    const narrow = await page.evaluate(() => {
      const panel = document.getElementById('bell')!.shadowRoot!.querySelector('.panel')!.getBoundingClientRect()
      return { viewport: document.documentElement.clientWidth, left: panel.left, right: panel.right }
    })
    expect(narrow.viewport).toBe(375)
    expect(narrow.left).toBeGreaterThanOrEqual(0)
    expect(narrow.right).toBeLessThanOrEqual(narrow.viewport)
  })
})
