/**
 * A stream that goes silent without closing, in Chromium: a half-open
 * connection, or a proxy that lost its upstream and keeps the browser's
 * socket. A proxy in front of the gateway stops forwarding the open stream's
 * bytes and keeps its socket; the client notices the missing heartbeats
 * (the limit is twice the gateway's heartbeat interval, from `herald.ready`,
 * plus 5 s) and resumes from its last id, losing nothing. Back online, it
 * does not wait for that: the page's `online` event reopens the stream at once.
 */

import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signToken, startTestGateway, type TestGateway } from '../harness.js'
import { launchChromium, newTestContext, openClientTab, sequence, waitForReceived, waitForState } from './chromium.js'

interface SilencingProxy {
  readonly url: string
  /** The Last-Event-ID of each /v1/events request, in order ('' when absent). */
  readonly streams: string[]
  /** Stops forwarding the bytes of every open response, keeping the browser's socket open. */
  silenceOpenStreams(): void
  close(): Promise<void>
}

async function startSilencingProxy(target: string): Promise<SilencingProxy> {
  const streams: string[] = []
  const open = new Set<{ silenced: boolean }>()
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/v1/events')) streams.push(String(req.headers['last-event-id'] ?? ''))
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      const flow = { silenced: false }
      open.add(flow)
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.on('data', (chunk: Buffer) => flow.silenced || res.write(chunk))
      answer.on('end', () => flow.silenced || res.end())
      res.on('close', () => {
        open.delete(flow)
        answer.destroy()
      })
    })
    upstream.on('error', () => res.destroy())
    // A browser that gives up before the gateway answers: the gateway's stream goes with it.
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams,
    silenceOpenStreams() {
      for (const flow of open) flow.silenced = true
    },
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

/**
 * A gateway with a `heartbeatMs` heartbeat behind a silencing proxy, and a tab streaming through
 * it. `loseStream` silences the open stream (and what else the case does around it) while
 * 3 and 4 are published; the tab must then get all five once, resumed from its last id, and
 * the app must have seen the states `expectedStates`.
 */
function silencedStreamCase(
  title: string,
  heartbeatMs: string,
  loseStream: (proxy: SilencingProxy, context: BrowserContext, publishLost: () => Promise<void>) => Promise<void>,
  expectedStates: readonly string[],
): void {
  describe(title, () => {
    let browser: Browser
    let gateway: TestGateway
    let proxy: SilencingProxy
    let context: BrowserContext | undefined

    beforeAll(async () => {
      ;[browser, gateway] = await Promise.all([
        launchChromium(),
        startTestGateway({ HEARTBEAT_INTERVAL_MS: heartbeatMs }, {}, ['--dev']),
      ])
      proxy = await startSilencingProxy(gateway.url)
    })
    afterAll(async () => {
      await context?.close()
      await browser.close()
      await proxy.close()
      await gateway.close()
    })

    it('resumes from the last id, losing nothing', async () => {
      const user = 'quiet'
      const publish = async (n: number) =>
        expect((await gateway.publish({ user, type: 'seq', data: n })).status).toBe(200)
      context = await newTestContext(browser, proxy.url, () => signToken(user))
      const tab = await openClientTab(context, proxy.url, { transport: 'fetch' })
      await waitForState(tab, 'open')
      for (const n of sequence(3)) await publish(n)
      await waitForReceived(tab, 3)
      const lastId = await tab.evaluate(() => window.client.lastEventId)

      await loseStream(proxy, context, async () => {
        for (const n of [3, 4]) await publish(n)
      })

      expect(await waitForReceived(tab, 5, 20_000)).toEqual(sequence(5))
      expect(proxy.streams).toEqual(['', lastId])
      expect(await tab.evaluate(() => window.states)).toEqual(expectedStates)
      expect(await tab.evaluate(() => window.resets)).toEqual([])
    })
  })
}

// A 200 ms heartbeat: the client gives up on a silent stream after 2 × 200 + 5000 ms.
silencedStreamCase(
  '@herald/client on a stream that stops carrying bytes, heartbeats included, in Chromium',
  '200',
  async (proxy, _context, publishLost) => {
    proxy.silenceOpenStreams()
    await publishLost()
  },
  ['open', 'reconnecting', 'open'],
)

// The default heartbeat: a silent stream would be given up only after 2 × 15 s + 5 s. The
// network goes, and with it the stream's connection, without a word; back online, the stream
// is reopened at once, not dropped by the watchdog: the app never saw it reconnecting.
silencedStreamCase(
  '@herald/client back online after the stream lost its connection, in Chromium',
  '15000',
  async (proxy, context, publishLost) => {
    await context.setOffline(true)
    proxy.silenceOpenStreams()
    await publishLost()
    await context.setOffline(false)
  },
  ['open'],
)
