import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { HeraldClient } from './client.js'
import type { HeraldClientError, HeraldClientOptions } from './client-options.js'
import { FakeEventSource } from './test/fake-event-source.js'
import { type ControlledStream, controlledGateway, fakeGateway } from './test/fake-gateway.js'
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
      initialRetryMs: 10,
      maxRetryMs: 20,
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

  it('does not stream again when a tab that heard the refusal takes over from the leader', async () => {
    const [first, second] = [openTab(), openTab()]
    await Promise.all([first.error, second.error])
    expect([first.client.role, second.client.role]).toEqual(['leader', 'follower'])
    const tookOver = new Promise<void>((resolve) =>
      second.client.onRoleChange((role) => {
        if (role === 'leader') resolve()
      }),
    )
    first.client.close()
    await tookOver
    // The closed tab holds nothing any more, so it names no role.
    expect(first.client.role).toBeUndefined()
    expect(second.client.state).toBe('closed')
    expect(requests).toBe(1)
  })

  // Four 401s stop the first tabs, and the tokens are good again by the time a later tab opens;
  // or a server in front of the gateway answered 204, and is gone by then.
  it.each([
    [
      "a refusal of the tokens (401s, or another user's)",
      () =>
        new Response('{"error":{"code":"HERALD_ERR_TOKEN_SIGNATURE","message":"bad signature"}}', {
          status: 401,
          headers: { 'content-type': 'application/json' },
        }),
      [401, 'HERALD_ERR_TOKEN_SIGNATURE'],
    ],
    ['a 204', () => new Response(null, { status: 204, statusText: 'No Content' }), [204, 'HTTP_204']],
  ] as const)('lets a tab that opens after %s lead with its own stream, not repeat it', async (_, answer, expected) => {
    let refusing = true
    const live = fakeGateway()
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      requests++
      return refusing ? answer() : live.fetch(input, init)
    })
    const [first, second] = [openTab(), openTab()]
    const errors = await Promise.all([first.error, second.error])
    expect(errors.map((error) => [error.status, error.code])).toEqual([expected, expected])
    // Out of the group, neither names a role, as a closed client does not.
    expect([first.client.role, second.client.role]).toEqual([undefined, undefined])
    refusing = false
    const late = openTab()
    await vi.waitFor(() => expect([late.client.role, late.client.state]).toEqual(['leader', 'open']))
    expect(live.streams).toHaveLength(1)
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

/**
 * Tabs over EventSource, which dispatches only the types listened for: the leader's stream must
 * listen for the types the other tabs pass to `on`, or their handlers never run.
 */
describe('HeraldClient across tabs over EventSource', () => {
  let clients: HeraldClient[]

  const at = (n: number) => `u00000001:${n}-0`

  beforeEach(() => {
    clients = []
    FakeEventSource.reset()
    vi.stubGlobal('navigator', { locks: new FakeLockManager() })
    vi.stubGlobal('EventSource', FakeEventSource)
  })
  afterEach(() => {
    for (const client of clients) client.close()
    vi.unstubAllGlobals()
  })

  /** A tab, and the payloads of each type its `on` handlers get. */
  function openTab() {
    const token = fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    const client = new HeraldClient({
      url: 'https://gw.example/v1/events',
      getToken: () => token,
      transport: 'eventsource',
      storage: null,
    })
    clients.push(client)
    const received: Record<string, unknown[]> = {}
    const on = (type: string) =>
      client.on(type, ({ data }) => {
        received[type] = [...(received[type] ?? []), data]
      })
    return { client, received, on }
  }

  /** The `count`th EventSource, once created, opened and live. */
  async function liveSource(count: number): Promise<FakeEventSource> {
    await vi.waitFor(() => expect(FakeEventSource.instances.length).toBeGreaterThanOrEqual(count))
    const source = FakeEventSource.instances[count - 1]!
    source.open(at(1))
    return source
  }

  const isOpen = (client: HeraldClient) => vi.waitFor(() => expect(client.state).toBe('open'))

  it("delivers a type only a follower listens for: the follower's hello names it", async () => {
    const leader = openTab()
    const source = await liveSource(1)
    await isOpen(leader.client)
    const follower = openTab()
    follower.on('invoice.paid')
    // The leader answers the hello with where its stream stands: the tab has joined.
    await isOpen(follower.client)
    expect([leader.client.role, follower.client.role]).toEqual(['leader', 'follower'])
    source.send('invoice.paid', '{"invoice":7}', at(2))
    await vi.waitFor(() => expect(follower.received).toEqual({ 'invoice.paid': [{ invoice: 7 }] }))
    expect(leader.received).toEqual({})
  })

  it('delivers a type a follower passes to on after it joined', async () => {
    const leader = openTab()
    const source = await liveSource(1)
    const follower = openTab()
    await isOpen(follower.client)
    follower.on('invoice.sent')
    await vi.waitFor(() => expect(source.listening).toContain('invoice.sent'))
    source.send('invoice.sent', '{"invoice":8}', at(2))
    await vi.waitFor(() => expect(follower.received).toEqual({ 'invoice.sent': [{ invoice: 8 }] }))
    expect(leader.received).toEqual({})
    // One EventSource: a new type is listened for on the open stream, not by opening another.
    expect(FakeEventSource.instances).toHaveLength(1)
  })

  it("delivers a follower's types after a handover: the new leader listens for them", async () => {
    const first = openTab()
    await liveSource(1)
    const second = openTab()
    const third = openTab()
    third.on('invoice.paid')
    await Promise.all([isOpen(second.client), isOpen(third.client)])
    first.client.close()
    await vi.waitFor(() => expect(second.client.role).toBe('leader'))
    const source = await liveSource(2)
    await isOpen(third.client)
    source.send('invoice.paid', '{"invoice":9}', at(2))
    await vi.waitFor(() => expect(third.received).toEqual({ 'invoice.paid': [{ invoice: 9 }] }))
    // And a type the follower adds under the new leader.
    third.on('invoice.voided')
    await vi.waitFor(() => expect(source.listening).toContain('invoice.voided'))
    source.send('invoice.voided', '{"invoice":10}', at(3))
    await vi.waitFor(() =>
      expect(third.received).toEqual({ 'invoice.paid': [{ invoice: 9 }], 'invoice.voided': [{ invoice: 10 }] }),
    )
    expect(second.received).toEqual({})
  })
})

/** One tab, connecting through a fake gateway whose streams open and go live at once. */
describe('HeraldClient and getToken', () => {
  let clients: HeraldClient[]
  let gateway: ReturnType<typeof fakeGateway>

  beforeEach(() => {
    clients = []
    gateway = fakeGateway()
    vi.stubGlobal('fetch', gateway.fetch)
  })
  afterEach(() => {
    for (const client of clients) client.close()
    vi.unstubAllGlobals()
  })

  const token = (sub: string, n = 0) => fakeJwt({ sub, exp: Math.floor(Date.now() / 1000) + 3600, n })

  function open(getToken: HeraldClientOptions['getToken'], options: Partial<HeraldClientOptions> = {}) {
    const client = new HeraldClient({
      url: 'https://gw.example/v1/events',
      getToken,
      transport: 'fetch',
      shareAcrossTabs: false,
      storage: null,
      initialRetryMs: 10,
      maxRetryMs: 20,
      ...options,
    })
    clients.push(client)
    return client
  }

  /** A client whose getToken gives `answers` in turn (the last from then on), and the errors it reports. */
  function openAnswering(answers: readonly string[]) {
    let calls = 0
    const errors: HeraldClientError[] = []
    const client = open(() => answers[Math.min(calls++, answers.length - 1)]!)
    client.onError((error) => errors.push(error))
    return { client, errors, calls: () => calls }
  }

  const opened = (client: HeraldClient) =>
    new Promise<void>((resolve) => {
      if (client.state === 'open') resolve()
      client.onStateChange((state) => state === 'open' && resolve())
    })

  it('calls getToken again when a call never settles, once it has timed out', async () => {
    let calls = 0
    const client = open(() => (++calls === 1 ? new Promise<string>(() => {}) : token('alice')), { tokenTimeoutMs: 50 })
    await opened(client)
    expect(calls).toBe(2)
    expect(gateway.streams).toHaveLength(1)
  })

  it('retries a getToken that returns something other than a string, and reports it', async () => {
    const reported: unknown[] = []
    vi.stubGlobal('reportError', (error: unknown) => reported.push(error))
    const answers: unknown[] = [null, 42, { token: token('alice') }, token('alice')]
    let calls = 0
    const client = open(() => answers[Math.min(calls++, 3)] as string)
    await opened(client)
    expect(gateway.streams).toHaveLength(1)
    expect(reported.map((e) => (e as TypeError).message)).toEqual([
      'getToken must return a string (a JWT), got null',
      'getToken must return a string (a JWT), got number',
      'getToken must return a string (a JWT), got object',
    ])
  })

  it('starts with the first token whose subject it can read, not stopping as if the user changed', async () => {
    // An endpoint not ready yet: an empty answer, then an error page as text, then the token.
    const answers = ['', 'garbage.not.ajwt', token('alice')]
    const { client, errors, calls } = openAnswering(answers)
    await opened(client)
    expect(errors).toEqual([])
    expect(calls()).toBe(3)
    expect(gateway.streams).toHaveLength(1)
    expect(gateway.streams[0]!.authorization).toBe(`Bearer ${answers[2]}`)
  })

  it('stops with HERALD_ERR_TOKEN_UNREADABLE after four tokens in a row whose subject it cannot read', async () => {
    const { client, errors, calls } = openAnswering(['garbage.not.ajwt'])
    await vi.waitFor(() => expect(client.state).toBe('closed'))
    expect(errors).toEqual([expect.objectContaining({ status: 0, code: 'HERALD_ERR_TOKEN_UNREADABLE' })])
    expect(calls()).toBe(4)
    expect(gateway.streams).toHaveLength(0)
  })

  it('leaves a later token whose subject it cannot read to the gateway, rather than stop as if the user changed', async () => {
    // The first two streams are refused (401); the token fetched after the first is unreadable.
    let refusals = 0
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      if (refusals === 2) return gateway.fetch(input, init)
      refusals++
      return new Response('{"error":{"code":"HERALD_ERR_TOKEN_MALFORMED","message":"bad"}}', { status: 401 })
    })
    const { client, errors, calls } = openAnswering([token('alice', 1), 'garbage.not.ajwt', token('alice', 2)])
    await opened(client)
    expect(errors).toEqual([])
    expect(calls()).toBe(3)
  })

  it('calls getToken no more once closed while it waits between start-up calls, and leaves no timer', async () => {
    vi.useFakeTimers()
    try {
      const { client, calls } = openAnswering(['garbage.not.ajwt'])
      await vi.advanceTimersByTimeAsync(0)
      expect(calls()).toBe(1)
      client.close()
      expect(vi.getTimerCount()).toBe(0)
      await vi.advanceTimersByTimeAsync(60_000)
      expect(calls()).toBe(1)
    } finally {
      vi.useRealTimers()
    }
  })

  it('stops with HERALD_ERR_USER_CHANGED instead of streaming with a token for another user', async () => {
    const storage = new Map<string, string>()
    let calls = 0
    // The first stream is refused (401): the client asks for a new token, which is Bob's.
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      if (gateway.streams.length > 0) return gateway.fetch(input, init)
      gateway.streams.push({ authorization: null, lastEventId: null })
      return new Response('{"error":{"code":"HERALD_ERR_TOKEN_INVALID","message":"bad"}}', { status: 401 })
    })
    const client = open(() => (++calls === 1 ? token('alice') : token('bob')), {
      storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    })
    const error = await new Promise<HeraldClientError>((resolve) => client.onError(resolve))
    expect(error).toMatchObject({ status: 0, code: 'HERALD_ERR_USER_CHANGED' })
    await vi.waitFor(() => expect(client.state).toBe('closed'))
    expect(calls).toBe(2)
    expect(gateway.streams).toHaveLength(1)
    expect([...storage.keys()]).toEqual([])
  })
})

describe('HeraldClient closing the leading tab', () => {
  beforeEach(() => {
    vi.stubGlobal('navigator', { locks: new FakeLockManager() })
    vi.stubGlobal('fetch', fakeGateway().fetch)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('ends without an error: the final closed state is not posted to the closed channel', async () => {
    const errors: unknown[] = []
    const onRejection = (error: unknown) => errors.push(error)
    process.on('unhandledRejection', onRejection)
    try {
      const client = new HeraldClient({
        url: 'https://gw.example/v1/events',
        getToken: () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 }),
        transport: 'fetch',
        storage: null,
      })
      await vi.waitFor(() => expect(client.state).toBe('open'))
      expect(client.role).toBe('leader')
      const states: string[] = []
      client.onStateChange((state) => states.push(state))
      client.close()
      // The connection's loop ends on a later turn and reports `closed` then.
      await vi.waitFor(() => expect(states).toEqual(['closed']))
      // An unhandled rejection is reported after the turn it happened in.
      await new Promise((resolve) => setImmediate(resolve))
      expect(errors).toEqual([])
    } finally {
      process.off('unhandledRejection', onRejection)
    }
  })
})

/**
 * Tabs whose gateway streams send only what the test pushes, so the position each stream opens
 * from, and what each tab gets, show how a tab that joins behind is caught up.
 */
describe('HeraldClient catching up a tab that joins behind, or comes back from the back/forward cache', () => {
  let gateway: ReturnType<typeof controlledGateway>
  let clients: HeraldClient[]

  const at = (n: number) => `u00000001:${n}-0`
  const event = (n: number) => `event: seq\ndata: ${n}\nid: ${at(n)}\n\n`
  const ready = (n: number) => `event: herald.ready\ndata: {"resume":"exact","replayed":0}\nid: ${at(n)}\n\n`
  const reset = (n: number) => `event: herald.reset\ndata: {"reason":"trimmed"}\nid: ${at(n)}\n\n`
  const position = (n: number) => `event: herald.position\ndata: {}\nid: ${at(n)}\n\n`

  beforeEach(() => {
    clients = []
    gateway = controlledGateway()
    vi.stubGlobal('navigator', { locks: new FakeLockManager() })
    vi.stubGlobal('fetch', gateway.fetch)
  })
  afterEach(() => {
    for (const client of clients) client.close()
    vi.unstubAllGlobals()
  })

  /** A tab, with the position its storage holds (none: it starts fresh), what it receives and its resets. */
  function openTab(position?: string, getToken?: () => string | Promise<string>) {
    const token = fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    const storage = position === undefined ? null : { getItem: () => position, setItem: () => {} }
    const client = new HeraldClient({
      url: 'https://gw.example/v1/events',
      getToken: getToken ?? (() => token),
      transport: 'fetch',
      storage,
      initialRetryMs: 10,
      maxRetryMs: 20,
    })
    clients.push(client)
    const received: unknown[] = []
    const resets: string[] = []
    client.onNotification((notification) => received.push(notification.data))
    client.onReset((r) => resets.push(r.reason))
    return { client, received, resets }
  }

  async function nextStream(count: number): Promise<ControlledStream> {
    await vi.waitFor(() => expect(gateway.streams.length).toBeGreaterThanOrEqual(count))
    return gateway.streams[count - 1]!
  }

  it('takes herald.position as a position, not a notification, in every tab, and resumes from it', async () => {
    const leader = openTab()
    const follower = openTab()
    const shared = await nextStream(1)
    shared.push(ready(1))
    // The follower hears the leader's stream once it has joined: open, as the leader's is.
    await vi.waitFor(() => expect(follower.client.state).toBe('open'))
    shared.push(event(2) + position(7))
    await vi.waitFor(() => expect([leader.client.lastEventId, follower.client.lastEventId]).toEqual([at(7), at(7)]))
    expect(leader.received).toEqual([2])
    expect(follower.received).toEqual([2])
    shared.end()
    expect((await nextStream(2)).lastEventId).toBe(at(7))
  })

  it('passes a reset reason it does not know as it is, and one that is no string as unknown', async () => {
    const tab = openTab()
    const stream = await nextStream(1)
    stream.push(ready(1))
    const resetWith = (n: number, data: string) => `event: herald.reset\ndata: ${data}\nid: ${at(n)}\n\n`
    stream.push(resetWith(2, '{"reason":"compacted"}') + resetWith(3, '{"reason":{"x":1}}') + resetWith(4, 'oops'))
    stream.push(resetWith(5, '{"reason":"trimmed"}') + event(6))
    await vi.waitFor(() => expect(tab.received).toEqual([6]))
    expect(tab.resets).toEqual(['compacted', 'unknown', 'unknown', 'trimmed'])
  })

  it('passes no herald. event it does not know to the app, and resumes from its position', async () => {
    const tab = openTab()
    const stream = await nextStream(1)
    stream.push(ready(1))
    stream.push(`event: herald.future\ndata: {"x":1}\nid: ${at(5)}\n\n${event(6)}`)
    await vi.waitFor(() => expect(tab.client.lastEventId).toBe(at(6)))
    expect(tab.received).toEqual([6])
  })

  it('delivers an event whose id it could not send back, and resumes from the last id it could', async () => {
    const tab = openTab()
    const stream = await nextStream(1)
    stream.push(ready(1) + event(2))
    // A broken server's or proxy's ids: one a header cannot carry, one past the gateway's 16 KiB head.
    stream.push(`event: seq\ndata: 3\nid: ${at(3)}\u20ac\n\nevent: seq\ndata: 4\nid: ${'u'.repeat(20_000)}\n\n`)
    await vi.waitFor(() => expect(tab.received).toEqual([2, 3, 4]))
    expect(tab.client.lastEventId).toBe(at(2))
    stream.end()
    expect((await nextStream(2)).lastEventId).toBe(at(2))
  })

  it('replays from the position of a tab that joins behind, and every tab drops what it has', async () => {
    const leader = openTab()
    const shared = await nextStream(1)
    shared.push(ready(1) + event(2) + event(3))
    await vi.waitFor(() => expect(leader.received).toEqual([2, 3]))
    const behind = openTab(at(1))
    const catchUp = await nextStream(2)
    expect(catchUp.lastEventId).toBe(at(1))
    catchUp.push(event(2) + event(3) + ready(3) + event(4))
    await vi.waitFor(() => expect(behind.received).toEqual([2, 3, 4]))
    expect(leader.received).toEqual([2, 3, 4])
  })

  it('resets only the tab whose position history no longer holds, and streams the others on from theirs', async () => {
    const leader = openTab()
    const shared = await nextStream(1)
    shared.push(ready(5) + event(6))
    await vi.waitFor(() => expect(leader.received).toEqual([6]))
    const behind = openTab(at(1))
    const catchUp = await nextStream(2)
    expect(catchUp.lastEventId).toBe(at(1))
    // History starts after 1: reset at the tail, 9. 7 to 9 came while the stream reopened.
    catchUp.push(reset(9) + ready(9))
    const back = await nextStream(3)
    expect(back.lastEventId).toBe(at(6))
    back.push(event(7) + event(8) + event(9) + ready(9) + event(10))
    await vi.waitFor(() => expect(leader.received).toEqual([6, 7, 8, 9, 10]))
    await vi.waitFor(() => expect(behind.received).toEqual([10]))
    expect(leader.resets).toEqual([])
    expect(behind.resets).toEqual(['trimmed'])
    expect(gateway.streams).toHaveLength(3)
  })
  it('sends that reset as a message of its own kind, which tabs of an older bundle ignore', async () => {
    const leader = openTab()
    ;(await nextStream(1)).push(ready(5) + event(6))
    await vi.waitFor(() => expect(leader.received).toEqual([6]))
    const relayed: Array<{ kind: string; type?: string }> = []
    const listener = new BroadcastChannel('herald:https://gw.example/v1/events|alice')
    listener.onmessage = (message) => relayed.push(message.data)
    try {
      const behind = openTab(at(1))
      ;(await nextStream(2)).push(reset(9) + ready(9))
      await vi.waitFor(() => expect(behind.resets).toEqual(['trimmed']))
      expect(relayed.filter((message) => message.kind === 'event' && message.type === 'herald.reset')).toEqual([])
      expect(relayed.filter((message) => message.kind === 'reset')).toHaveLength(1)
    } finally {
      listener.close()
    }
  })

  it('compares a tab that joins before the stream reopens with its own position, not the one past history', async () => {
    // Tokens that look expired: each stream fetches one, so the test can hold the reopen back.
    let release: (() => void) | undefined
    let holding = false
    const expired = () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 10 })
    const leader = openTab(undefined, () =>
      holding ? new Promise<string>((resolve) => (release = () => resolve(expired()))) : expired(),
    )
    ;(await nextStream(1)).push(ready(5) + event(6))
    await vi.waitFor(() => expect(leader.received).toEqual([6]))
    const behind = openTab(at(1))
    const catchUp = await nextStream(2)
    holding = true
    catchUp.push(reset(9) + ready(9))
    await vi.waitFor(() => expect(behind.resets).toEqual(['trimmed']))
    await vi.waitFor(() => expect(release).toBeDefined())
    // Joins while the leader waits for its token: behind the leader (6), within history.
    const welcomes: unknown[] = []
    const listener = new BroadcastChannel('herald:https://gw.example/v1/events|alice')
    listener.onmessage = (message) => {
      if (message.data.kind === 'welcome') welcomes.push(message.data)
    }
    try {
      openTab(at(4))
      await vi.waitFor(() => expect(welcomes).toHaveLength(1))
    } finally {
      listener.close()
    }
    release!()
    expect((await nextStream(3)).lastEventId).toBe(at(4))
  })

  it('goes on from what it relayed when a catch-up stream drops, not from where it started', async () => {
    const leader = openTab()
    ;(await nextStream(1)).push(ready(5) + event(6))
    await vi.waitFor(() => expect(leader.received).toEqual([6]))
    const behind = openTab(at(1))
    const catchUp = await nextStream(2)
    catchUp.push(event(2) + event(3) + event(4) + event(5) + event(6))
    await vi.waitFor(() => expect(behind.received).toEqual([2, 3, 4, 5, 6]))
    catchUp.end()
    expect((await nextStream(3)).lastEventId).toBe(at(6))
  })
  it('resets every tab, as an older bundle did, when a tab of that bundle is among those behind', async () => {
    const leader = openTab()
    ;(await nextStream(1)).push(ready(5) + event(6))
    await vi.waitFor(() => expect(leader.received).toEqual([6]))
    const current = openTab()
    await vi.waitFor(() => expect(current.client.state).toBe('open'))
    // A tab of the older bundle: its hello does not say it applies addressed resets.
    const old = new BroadcastChannel('herald:https://gw.example/v1/events|alice')
    const relayed: Array<{ kind: string; type?: string }> = []
    old.onmessage = (message) => relayed.push(message.data)
    try {
      old.postMessage({ kind: 'hello', tab: 'old-tab', lastId: at(1) })
      const catchUp = await nextStream(2)
      expect(catchUp.lastEventId).toBe(at(1))
      catchUp.push(reset(9) + ready(9) + event(10))
      await vi.waitFor(() => expect(current.received).toEqual([10]))
      expect(relayed.filter((message) => message.kind === 'event' && message.type === 'herald.reset')).toHaveLength(1)
      expect([leader.resets, current.resets]).toEqual([['trimmed'], ['trimmed']])
    } finally {
      old.close()
    }
  })

  /*
   * A page that goes into the back/forward cache fires pagehide (persisted), then freeze on its
   * document; shown again, resume, then pageshow (persisted). A page frozen where it is (a
   * background tab) fires freeze and resume alone. Each tab below has a page of its own, so one
   * can be hidden alone.
   */
  /** A tab on a page of its own, and how to cache or freeze it and bring it back. */
  function openPageTab() {
    const page = new EventTarget()
    const document = new EventTarget()
    vi.stubGlobal('addEventListener', page.addEventListener.bind(page))
    vi.stubGlobal('removeEventListener', page.removeEventListener.bind(page))
    vi.stubGlobal('document', document)
    const transition = (type: string) => page.dispatchEvent(Object.assign(new Event(type), { persisted: true }))
    const lifecycle = (type: string) => document.dispatchEvent(new Event(type))
    return {
      ...openTab(),
      hide: () => {
        transition('pagehide')
        lifecycle('freeze')
      },
      show: () => {
        lifecycle('resume')
        transition('pageshow')
      },
      freeze: () => lifecycle('freeze'),
      resume: () => lifecycle('resume'),
    }
  }

  it.each([
    ['cached', 'hide', 'show'],
    ['frozen', 'freeze', 'resume'],
  ] as const)(
    'hands the lead over when the leading page is %s, and joins as a follower when it is back',
    async (_, away, back) => {
      const first = openPageTab()
      const firstStream = await nextStream(1)
      firstStream.push(ready(1) + event(2))
      await vi.waitFor(() => expect(first.received).toEqual([2]))
      const second = openPageTab()
      // Welcomed by the leader, which then tells it the stream's state.
      await vi.waitFor(() => expect([second.client.role, second.client.state]).toEqual(['follower', 'open']))
      firstStream.push(event(3))
      await vi.waitFor(() => expect([first.received, second.received]).toEqual([[2, 3], [3]]))
      expect(first.client.role).toBe('leader')

      first[away]()
      // The page's stream ends, and the other tab streams from where it was.
      expect(firstStream.aborted).toBe(true)
      const secondStream = await nextStream(2)
      expect(secondStream.lastEventId).toBe(at(3))
      await vi.waitFor(() => expect(second.client.role).toBe('leader'))
      secondStream.push(ready(3) + event(4))
      await vi.waitFor(() => expect(second.received).toEqual([3, 4]))

      first[back]()
      await vi.waitFor(() => expect(first.client.role).toBe('follower'))
      // Behind by one: the leader streams again from its position, and each tab gets what it lacks.
      const catchUp = await nextStream(3)
      expect(catchUp.lastEventId).toBe(at(3))
      catchUp.push(event(4) + ready(4) + event(5))
      await vi.waitFor(() =>
        expect([first.received, second.received]).toEqual([
          [2, 3, 4, 5],
          [3, 4, 5],
        ]),
      )
      expect(gateway.streams).toHaveLength(3)
    },
  )

  it('takes a frozen follower out of the line for the lock, so the lead passes to a tab that runs', async () => {
    const [first, second, third] = [openPageTab(), openPageTab(), openPageTab()]
    const s1 = await nextStream(1)
    s1.push(ready(1) + event(2))
    await vi.waitFor(() => expect([second.received, third.received]).toEqual([[2], [2]]))
    // Next in line, but frozen: granted the lock, it could run nothing, and no tab would stream.
    second.freeze()
    first.client.close()
    const s2 = await nextStream(2)
    await vi.waitFor(() => expect(third.client.role).toBe('leader'))
    expect(s2.lastEventId).toBe(at(2))
    s2.push(ready(2) + event(3))
    await vi.waitFor(() => expect(third.received).toEqual([2, 3]))
    expect(second.received).toEqual([2])

    // Back, it joins the tab that leads now, which catches it up.
    second.resume()
    await vi.waitFor(() => expect(second.client.role).toBe('follower'))
    const catchUp = await nextStream(3)
    expect(catchUp.lastEventId).toBe(at(2))
    catchUp.push(event(3) + ready(3) + event(4))
    await vi.waitFor(() =>
      expect([second.received, third.received]).toEqual([
        [2, 3, 4],
        [2, 3, 4],
      ]),
    )
    expect(gateway.streams).toHaveLength(3)
  })

  it('joins the leader it finds when shown again, not one it was joining before it was cached', async () => {
    const [first, second, third] = [openPageTab(), openPageTab(), openPageTab()]
    const s1 = await nextStream(1)
    s1.push(ready(1))
    await vi.waitFor(() => expect([second.client.state, third.client.state]).toEqual(['open', 'open']))
    s1.push(event(2))
    await vi.waitFor(() => expect(third.received).toEqual([2]))
    // The lead moves to the second tab: the third joins it.
    first.hide()
    const s2 = await nextStream(2)
    s2.push(ready(2) + event(3))
    await vi.waitFor(() => expect(third.received).toEqual([2, 3]))
    // The third is cached; the lead moves on, to the first tab, shown again meanwhile.
    third.hide()
    first.show()
    const s3 = await nextStream(3)
    s3.push(event(3) + ready(3))
    await vi.waitFor(() => expect(first.received).toEqual([2, 3]))
    second.hide()
    const s4 = await nextStream(4)
    await vi.waitFor(() => expect(first.client.role).toBe('leader'))
    s4.push(ready(3) + event(4) + event(5))
    await vi.waitFor(() => expect(first.received).toEqual([2, 3, 4, 5]))
    // Shown again, the third tab says hello. A relay the leader sends before its welcome (here
    // one of another tab's) must wait: applied, it would move the tab past 4 and 5, and the
    // catch-up would bring them as already seen.
    third.show()
    const relay = new BroadcastChannel(`herald:https://gw.example/v1/events|alice`)
    relay.postMessage({ kind: 'event', leader: 'another-tab', type: 'seq', data: '9', id: at(9) })
    relay.close()
    const catchUp = await nextStream(5)
    expect(catchUp.lastEventId).toBe(at(3))
    catchUp.push(event(4) + event(5) + ready(5) + event(6))
    await vi.waitFor(() => expect(third.received).toEqual([2, 3, 4, 5, 6]))
  })

  it('ends the stream of a tab streaming alone while its page is cached, and resumes it when shown', async () => {
    vi.stubGlobal('navigator', {})
    const tab = openPageTab()
    const stream = await nextStream(1)
    stream.push(ready(1) + event(2))
    await vi.waitFor(() => expect(tab.received).toEqual([2]))
    expect(tab.client.role).toBe('alone')
    tab.hide()
    expect(stream.aborted).toBe(true)
    tab.show()
    const resumed = await nextStream(2)
    expect(resumed.lastEventId).toBe(at(2))
    resumed.push(ready(2) + event(3))
    await vi.waitFor(() => expect(tab.received).toEqual([2, 3]))
    expect(tab.client.state).toBe('open')
  })
})

/** A client alone in its page for alice, over fetch: no tab sharing, no stored position. */
function loneClient(options: Partial<HeraldClientOptions> = {}): HeraldClient {
  return new HeraldClient({
    url: 'https://gw.example/v1/events',
    getToken: () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 }),
    transport: 'fetch',
    shareAcrossTabs: false,
    storage: null,
    ...options,
  })
}

/** An upstream that misbehaves: each stream says `retry: 0`, goes live and ends at once. */
describe('HeraldClient against an upstream that ends every stream at once', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('backs off as after failures instead of reconnecting every 100 ms or sooner', async () => {
    const requestedAtMs: number[] = []
    let fifth = () => {}
    const fiveRequests = new Promise<void>((resolve) => {
      fifth = resolve
    })
    const encoder = new TextEncoder()
    vi.stubGlobal('fetch', async () => {
      if (requestedAtMs.push(performance.now()) === 5) fifth()
      const frames = 'retry: 0\n\nevent: herald.ready\ndata: {"resume":"fresh","replayed":0}\nid: u00000001:1-0\n\n'
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(frames))
          controller.close()
        },
      })
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })
    })
    const client = loneClient()
    await fiveRequests
    client.close()
    // Waits of at least 100, 100, 200 and 400 ms (steps of 100, 200, 400 and 800, jittered down to
    // half): a timer that runs late only lengthens them. A millisecond off for timer rounding.
    const waits = requestedAtMs.slice(1).map((atMs, i) => atMs - requestedAtMs[i]!)
    expect(waits).toHaveLength(4)
    for (const [i, leastMs] of [100, 100, 200, 400].entries()) expect(waits[i]).toBeGreaterThanOrEqual(leastMs - 1)
  })
})

describe('HeraldClient options', () => {
  it('throws a TypeError for a missing url or getToken, rather than waiting for ever', () => {
    const getToken = () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    const options = (extra: object) => ({ storage: null, ...extra }) as unknown as HeraldClientOptions
    expect(() => new HeraldClient(options({ getToken }))).toThrow(
      new TypeError("HeraldClient needs url: the gateway's /v1/events URL, as a string"),
    )
    expect(() => new HeraldClient(options({ url: '', getToken }))).toThrow(TypeError)
    expect(() => new HeraldClient(options({ url: 'https://gw.example/v1/events' }))).toThrow(
      new TypeError('HeraldClient needs getToken: a function that returns the JWT, or a promise of it'),
    )
    expect(() => new HeraldClient(options({ url: 'https://gw.example/v1/events', getToken: 'a.jwt' }))).toThrow(
      TypeError,
    )
    expect(() => new HeraldClient(undefined as unknown as HeraldClientOptions)).toThrow(TypeError)
  })

  it('throws a TypeError for an option it does not take, or topics that are not a list, rather than ignoring them', () => {
    const getToken = () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    const options = (extra: object) =>
      ({ url: 'https://gw.example/v1/events', getToken, storage: null, ...extra }) as unknown as HeraldClientOptions
    expect(() => new HeraldClient(options({ topic: ['news'] }))).toThrow(
      /^HeraldClient has no option "topic" \(it takes url, getToken, tokenTimeoutMs, topics, /,
    )
    expect(() => new HeraldClient(options({ topics: 'news' }))).toThrow(
      new TypeError('HeraldClient topics must be an array of topic names (strings)'),
    )
    // NaN from an unset build variable: a timer of NaN fires at once, a retry loop with no wait.
    expect(() => new HeraldClient(options({ initialRetryMs: Number.NaN }))).toThrow(
      new TypeError('HeraldClient initialRetryMs must be a number of milliseconds from 1 to 2147483647, not NaN'),
    )
    expect(() => new HeraldClient(options({ transport: 'websocket' }))).toThrow(TypeError)
  })
})

describe('HeraldClient coming back online', () => {
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
  })

  it("connects soon after the page's online event instead of sitting out a backoff that grew offline", async () => {
    vi.useFakeTimers()
    vi.spyOn(Math, 'random').mockReturnValue(1)
    const page = new EventTarget()
    vi.stubGlobal('addEventListener', page.addEventListener.bind(page))
    vi.stubGlobal('removeEventListener', page.removeEventListener.bind(page))
    let requests = 0
    // Offline: every request fails as the network does.
    vi.stubGlobal('fetch', async () => {
      requests++
      throw new TypeError('Failed to fetch')
    })
    const client = loneClient({ initialRetryMs: 1000, maxRetryMs: 60_000 })
    // Attempts at 0, 1, 3, 7 and 15 s; the next wait is 16 s.
    await vi.advanceTimersByTimeAsync(15_000)
    expect(requests).toBe(5)
    await vi.advanceTimersByTimeAsync(2000)
    page.dispatchEvent(new Event('online'))
    await vi.advanceTimersByTimeAsync(1000)
    expect(requests).toBe(6)
    client.close()
  })
})
