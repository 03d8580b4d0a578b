/**
 * Takes the README's screenshots of the `--dev` demo in Chromium:
 * `pnpm --filter @herald/gateway screenshots` writes docs/images/bell-*.png.
 */

import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { startTestGateway } from '../harness.js'
import { launchChromium } from './chromium.js'

const IMAGES = fileURLToPath(new URL('../../../../docs/images/', import.meta.url))

it('screenshots the demo page with the bell closed and open', async () => {
  const [browser, gateway] = await Promise.all([launchChromium(), startTestGateway({}, {}, ['--dev'])])
  try {
    const page = await browser.newPage({ viewport: { width: 880, height: 640 }, deviceScaleFactor: 2 })
    await page.goto(`${gateway.url}/demo`)
    await page.locator('#status[data-state="connected"]').waitFor()
    const minute = 60_000
    const notifications = [
      { title: 'Invoice #1042 paid', body: 'Acme Corp paid $1,250.00', sentAt: Date.now() - 42 * minute },
      { title: 'Deploy finished', body: 'api v2.4.1 is live in eu-west', sentAt: Date.now() - 7 * minute },
      { title: 'New comment', body: 'Dana: "Looks good, shipping it!"', sentAt: Date.now() - 5_000 },
    ]
    for (const data of notifications) await gateway.publish({ user: 'demo', type: 'demo.message', data })
    await page.getByRole('button', { name: 'Notifications, 3 unread' }).waitFor()
    await page.locator('#message').fill('Hello from Herald')
    await page.screenshot({ path: `${IMAGES}bell-badge.png` })

    await page.getByRole('button', { name: 'Notifications, 3 unread' }).click()
    await page.getByRole('region', { name: 'Notifications' }).getByText('New comment').waitFor()
    await page.screenshot({ path: `${IMAGES}bell-open.png` })
    expect(await page.getByRole('listitem').count()).toBe(3)
  } finally {
    await browser.close()
    await gateway.close()
  }
})
