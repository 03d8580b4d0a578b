import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { HeraldClient, type HeraldClientError } from './client.js'
import { fakeJwt } from './test/fake-jwt.js'
import { FakeLockManager } from './test/fake-locks.js'

const FORBIDDEN = { status: 403, code: 'HERALD_ERR_TOPIC_FORBIDDEN', message: 'the token does not grant topic news' }

/**
 * Tabs of one browser profile, in one process: a shared lock manager elects the leader, and
 * Node's BroadcastChannel carries the relay as a browser's does. The gateway's refusal is its
 * 403 response, so the leader's fetch transport reads it as it would over the network.
 */
describe('HeraldClient across tabs', () => {
  let clients: HeraldClient[]
  let requests: number

  beforeEach(() => {
    clients = []
    requests = 0
    vi.stubGlobal('navigator', { locks: new FakeLockManager() })
    vi.stubGlobal('fetch', async () => {
      requests++
      return new Response(JSON.stringify({ error: { code: FORBIDDEN.code, message: FORBIDDEN.message } }), {
        status: FORBIDDEN.status,
        headers: { 'content-type': 'application/json' },
      })
    })
  })
  afterEach(() => {
    for (const client of clients) client.close()
    vi.unstubAllGlobals()
  })

  /** A tab's client, with its first error as a promise. */
  function openTab(): { client: HeraldClient; error: Promise<HeraldClientError> } {
    const token = fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    const client = new HeraldClient({
      url: 'https://gw.example/v1/events',
      topics: ['news'],
      getToken: () => token,
      transport: 'fetch',
      storage: null,
    })
    clients.push(client)
    const error = new Promise<HeraldClientError>((resolve) => client.onError(resolve))
    return { client, error }
  }

  it('reports a refusal to every tab, not only the leader that holds the connection', async () => {
    const tabs = [openTab(), openTab(), openTab()]
    const errors = await Promise.all(tabs.map((tab) => tab.error))
    expect(errors).toEqual([FORBIDDEN, FORBIDDEN, FORBIDDEN])
    expect(tabs.map((tab) => tab.client.role).sort()).toEqual(['follower', 'follower', 'leader'])
    expect(requests).toBe(1)
  })

  it('tells a tab that opens after the refusal, which the leader remembers', async () => {
    const first = openTab()
    await first.error
    const late = openTab()
    expect(await late.error).toEqual(FORBIDDEN)
    expect([first.client.role, late.client.role]).toEqual(['leader', 'follower'])
    expect(late.client.state).toBe('closed')
    expect(requests).toBe(1)
  })
})
