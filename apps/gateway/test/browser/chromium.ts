/**
 * Browser tests drive Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/run) through playwright-core, which never downloads a browser. Each
 * launch gets a fresh temporary profile from Playwright; tabs are pages of
 * one context, so they share an origin's Web Locks, BroadcastChannels and
 * localStorage exactly as a user's tabs do.
 *
 * The test page is served by request interception on the gateway's own
 * origin: it loads the client bundle the gateway serves in --dev and
 * records every notification, without the demo page's own connection.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { ResetReason } from '@herald/protocol'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * `backForwardCache`: keep Chrome's back/forward cache on, as browsers have it; Playwright turns
 * it off by default, and a page it caches is frozen with whatever it holds (its Web Lock too).
 */
export function launchChromium({ backForwardCache = false } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ...(backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
  })
}

/** A Chromium whose tabs a test can freeze, and the context they open in. */
export interface FreezableChromium {
  readonly context: BrowserContext
  close(): Promise<void>
}

/**
 * Chromium started by the test and attached over CDP without Playwright's defaults. Playwright
 * turns focus emulation on for every page of a context it creates, which keeps the page visible
 * and running: there `Page.setWebLifecycleState` answers and freezes nothing. The browser's own
 * context has none, so its pages hide, fire `freeze` and stop their timers, as a background tab
 * does.
 */
export async function launchFreezableChromium(): Promise<FreezableChromium> {
  const profile = await mkdtemp(join(tmpdir(), 'herald-chromium-'))
  const args = [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank']
  const child = spawn(CHROMIUM_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = once(child, 'exit')
  try {
    const browser = await chromium.connectOverCDP(await devToolsEndpoint(child), { noDefaults: true })
    return {
      context: browser.contexts()[0]!,
      async close() {
        await browser.close()
        child.kill()
        await exited
        await removeProfile(profile)
      },
    }
  } catch (error) {
    child.kill()
    await exited
    await removeProfile(profile)
    throw error
  }
}

/**
 * Chromium's helper processes can still be writing to the profile for a moment after the browser
 * process exited: `rm` then meets a directory that filled again (ENOTEMPTY, seen in CI), which
 * its retries are for.
 */
function removeProfile(profile: string): Promise<void> {
  return rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })
}

/** The DevTools endpoint Chromium prints to stderr once it listens; rejects if it exits first. */
async function devToolsEndpoint(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stderr! })
  const printed: string[] = []
  try {
    for await (const line of lines) {
      const endpoint = /^DevTools listening on (ws:\/\/\S+)/.exec(line)?.[1]
      if (endpoint !== undefined) return endpoint
      printed.push(line)
    }
  } finally {
    // Chromium goes on writing to stderr: drained, so a full pipe never blocks it.
    lines.close()
    child.stderr!.resume()
  }
  throw new Error(`chromium exited before it listened: ${printed.join('\n')}`)
}

export const TEST_PAGE_PATH = '/__herald_test__'

const TEST_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Herald client test</title>
<script type="module">
import * as Herald from '/demo/herald-client.js'
window.received = []
window.resets = []
window.states = []
window.errors = []
window.shows = []
addEventListener('pageshow', (event) => window.shows.push(event.persisted))
window.startClient = (options) => {
  const client = new Herald.HeraldClient({
    url: '/v1/events',
    getToken: () => window.mintToken(),
    initialRetryMs: 100,
    maxRetryMs: 1000,
    ...options,
  })
  client.onNotification((n) => window.received.push(n.data))
  client.onReset((r) => window.resets.push(r.reason))
  client.onStateChange((s) => window.states.push(s))
  client.onError((e) => window.errors.push(e))
  window.client = client
}
// A second client in the same tab, as a bell beside the app's own client. What it receives is
// kept in sessionStorage, so that a test can count it across a reload.
window.secondReceived = () => JSON.parse(sessionStorage.getItem('second-received') ?? '[]')
window.startSecondClient = () => {
  const client = new Herald.HeraldClient({
    url: '/v1/events',
    getToken: () => window.mintToken(),
    initialRetryMs: 100,
    maxRetryMs: 1000,
  })
  client.onNotification((n) => sessionStorage.setItem('second-received', JSON.stringify([...window.secondReceived(), n.data])))
  window.second = client
}
</script>
`

interface TestClient {
  role: string | undefined
  state: string
  lastEventId: string
  onNotification(handler: (notification: { data: unknown }) => void): () => void
  close(): void
}

declare global {
  interface Window {
    received: unknown[]
    resets: ResetReason[]
    states: string[]
    errors: Array<{ status: number; code: string; message: string }>
    /** Each pageshow's `persisted`: true when the page came back from the back/forward cache. */
    shows: boolean[]
    /** Page lifecycle events a test records itself (`freeze`, `resume`). */
    lifecycle: string[]
    startClient(options?: Record<string, unknown>): void
    client: TestClient
    /** A second client in the tab, and what it received, across reloads. */
    startSecondClient(): void
    second: TestClient
    secondReceived(): unknown[]
    mintToken(): Promise<string>
  }
}

/** A context (one "browser profile") whose tabs get tokens from `mintToken`, run in the test. */
export async function newTestContext(
  browser: Browser,
  base: string,
  mintToken: () => Promise<string>,
): Promise<BrowserContext> {
  return prepareTestContext(await browser.newContext(), base, mintToken)
}

/** Serves the test page in `context`, whose tabs then get tokens from `mintToken`. */
export async function prepareTestContext(
  context: BrowserContext,
  base: string,
  mintToken: () => Promise<string>,
): Promise<BrowserContext> {
  await context.route(`${base}${TEST_PAGE_PATH}`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: TEST_PAGE }),
  )
  await context.exposeFunction('mintToken', mintToken)
  return context
}

/** A new tab on the test page with a started client. */
export async function openClientTab(
  context: BrowserContext,
  base: string,
  options: Record<string, unknown> = {},
): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${base}${TEST_PAGE_PATH}`)
  await page.waitForFunction(() => typeof window.startClient === 'function')
  await page.evaluate((o) => window.startClient(o), options)
  return page
}

/** Resolves once the tab's client state is `state` (open = live on the gateway or relayed from the leader). */
export async function waitForState(page: Page, state: string): Promise<void> {
  await page.waitForFunction((s) => window.client?.state === s, state, { polling: 20, timeout: 15_000 })
}

/** Resolves once the tab has received `count` notifications. */
export async function waitForReceived(page: Page, count: number, timeoutMs = 15_000): Promise<unknown[]> {
  await page.waitForFunction((n) => window.received.length >= n, count, { polling: 20, timeout: timeoutMs })
  return page.evaluate(() => window.received)
}

export interface EventsRequest {
  readonly url: URL
  readonly authorization: string | undefined
}

/** Records every request the context's tabs make to /v1/events, to tell which transport was used. */
export function recordEventsRequests(context: BrowserContext): EventsRequest[] {
  const requests: EventsRequest[] = []
  context.on('request', (request) => {
    const url = new URL(request.url())
    if (url.pathname === '/v1/events') requests.push({ url, authorization: request.headers()['authorization'] })
  })
  return requests
}

/** A sample from the gateway's /metrics (0 when absent): the server's own view of connections. */
export async function gatewayMetric(base: string, sample: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}

/** 0..count-1, the payloads the tests publish: checking against it finds any loss or duplicate. */
export function sequence(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i)
}
