import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type ConnectionState, StreamConnection, type StreamConnectionOptions } from './stream-connection.js'
import { fakeJwt } from './test/fake-jwt.js'
import type { StreamAttempt, StreamEnd, StreamSink, Transport } from './transport.js'

interface Call {
  readonly attempt: StreamAttempt
  readonly sink: StreamSink
  end(end: StreamEnd): void
}

/** A transport the test drives by hand: each attempt waits until the test ends it. */
function scriptedTransport(seesHeartbeats = true): { transport: Transport; calls: Call[] } {
  const calls: Call[] = []
  const transport: Transport = (attempt, sink) => {
    let end: (end: StreamEnd) => void = () => {}
    const done = new Promise<StreamEnd>((resolve) => {
      end = resolve
      attempt.signal.addEventListener('abort', () => resolve({ kind: 'aborted' }))
    })
    calls.push({ attempt, sink, end })
    return { done, seesHeartbeats, listen() {} }
  }
  return { transport, calls }
}

/** Ends the first `count` attempts as failed, each once the one before it has started. */
async function failInTurn(calls: readonly Call[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    calls[i]!.end({ kind: 'failed' })
    while (calls.length === i + 1) await vi.advanceTimersByTimeAsync(100)
  }
}

const READY = { type: 'herald.ready', data: '{"resume":"exact","replayed":0}', lastEventId: 'u1:1-0' }

describe('StreamConnection', () => {
  let states: ConnectionState[]
  let tokens: number
  let connection: StreamConnection | undefined

  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(1_800_000_000_000)
    vi.spyOn(Math, 'random').mockReturnValue(1)
    states = []
    tokens = 0
  })
  afterEach(() => {
    connection?.stop()
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  function start(transport: Transport, overrides: Partial<StreamConnectionOptions> = {}): StreamConnection {
    connection = new StreamConnection({
      url: 'https://gw.example/v1/events',
      transport,
      getToken: async () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600, n: ++tokens }),
      initialRetryMs: 1000,
      maxRetryMs: 30_000,
      lastEventId: () => 'u1:1-0',
      types: () => [],
      onEvent: () => {},
      onState: (state) => states.push(state),
      onRefused: () => {},
      ...overrides,
    })
    connection.start()
    return connection
  }

  it('waits as long as herald.unavailable asks, then retries from the same position', async () => {
    const { transport, calls } = scriptedTransport()
    start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onEvent({
      type: 'herald.unavailable',
      data: '{"reason":"user_limit","retryMs":5000}',
      lastEventId: '',
    })
    calls[0]!.end({ kind: 'ended' })
    await vi.advanceTimersByTimeAsync(4999)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(2)
    expect(calls[1]!.attempt.lastEventId).toBe('u1:1-0')
  })

  it('never retries in a hot loop, nor waits for ever, whatever retry: or retryMs a server sends', async () => {
    const { transport, calls } = scriptedTransport()
    start(transport)
    await vi.advanceTimersByTimeAsync(0)
    // retry: 0 and ready, then the stream ends: the next attempt comes 100 ms later, not at once.
    calls[0]!.sink.onRetry(0)
    calls[0]!.sink.onEvent(READY)
    calls[0]!.end({ kind: 'ended' })
    await vi.advanceTimersByTimeAsync(99)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(2)
    // retryMs of -5, then of 1e10: 100 ms, then 10 minutes.
    const unavailable = (retryMs: number) => ({
      type: 'herald.unavailable',
      data: `{"reason":"draining","retryMs":${retryMs}}`,
      lastEventId: '',
    })
    for (const [i, retryMs, waitMs] of [
      [1, -5, 100],
      [2, 1e10, 600_000],
    ] as const) {
      calls[i]!.sink.onEvent(unavailable(retryMs))
      calls[i]!.end({ kind: 'ended' })
      await vi.advanceTimersByTimeAsync(waitMs - 1)
      expect(calls).toHaveLength(i + 1)
      await vi.advanceTimersByTimeAsync(1)
      expect(calls).toHaveLength(i + 2)
    }
  })

  it('backs off from retryMs when herald.unavailable answers come in a row, and waits as asked again after a live stream', async () => {
    const { transport, calls } = scriptedTransport()
    start(transport)
    await vi.advanceTimersByTimeAsync(0)
    const waits: number[] = []
    const answerUnavailable = async () => {
      const call = calls.at(-1)!
      call.sink.onEvent({ type: 'herald.unavailable', data: '{"reason":"draining","retryMs":100}', lastEventId: '' })
      call.end({ kind: 'ended' })
      const count = calls.length
      let waited = 0
      while (calls.length === count) {
        await vi.advanceTimersByTimeAsync(10)
        waited += 10
      }
      waits.push(waited)
    }
    for (let i = 0; i < 5; i++) await answerUnavailable()
    // Math.random is 1: each step whole, doubling from what was asked.
    expect(waits).toEqual([100, 200, 400, 800, 1600])
    calls.at(-1)!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(60_000)
    calls.at(-1)!.end({ kind: 'ended' })
    while (calls.length === 6) await vi.advanceTimersByTimeAsync(10)
    waits.length = 0
    await answerUnavailable()
    expect(waits).toEqual([100])
  })

  it('backs off exponentially from the server retry, and starts over once a stream stayed live as long as the step', async () => {
    const { transport, calls } = scriptedTransport()
    start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onRetry(200)
    const gapAfter = async (i: number) => {
      const before = Date.now()
      while (calls.length === i + 1) await vi.advanceTimersByTimeAsync(10)
      return Date.now() - before
    }
    const gaps: number[] = []
    for (let i = 0; i < 3; i++) {
      calls[i]!.end({ kind: 'failed' })
      gaps.push(await gapAfter(i))
    }
    // Live, then ended at once: no reason to believe the upstream is well again.
    calls[3]!.sink.onEvent(READY)
    calls[3]!.end({ kind: 'ended' })
    gaps.push(await gapAfter(3))
    // Live as long as the step it gives up (200 × 2^4): the next wait is the first step again.
    calls[4]!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(3200)
    calls[4]!.end({ kind: 'ended' })
    gaps.push(await gapAfter(4))
    expect(gaps).toEqual([200, 400, 800, 1600, 200])
    expect(states).toEqual([
      'connecting',
      'reconnecting',
      'reconnecting',
      'reconnecting',
      'open',
      'reconnecting',
      'open',
      'reconnecting',
    ])
  })

  it('comes back when a gateway ending a live stream asks (retry:), however far failures grew the backoff', async () => {
    const { transport, calls } = scriptedTransport()
    start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onRetry(1000)
    // Four failures in a row: the next step would be 16 s.
    await failInTurn(calls, 4)
    calls[4]!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(2000)
    // The gateway drains, or lost more of an outage than history holds: it says when to come back.
    calls[4]!.sink.onRetry(2500)
    calls[4]!.end({ kind: 'ended' })
    await vi.advanceTimersByTimeAsync(2499)
    expect(calls).toHaveLength(5)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(6)
    // A closing retry: is not the base of the backoff: once a stream stayed live long enough to
    // start it over, the first step is the 1 s the stream opened with.
    calls[5]!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(30_000)
    calls[5]!.end({ kind: 'ended' })
    await vi.advanceTimersByTimeAsync(999)
    expect(calls).toHaveLength(6)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(7)
  })

  it('cuts a wait that grew while the network was down to the first step when it is back', async () => {
    const { transport, calls } = scriptedTransport()
    const connection = start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onRetry(1000)
    await failInTurn(calls, 3)
    // Waiting 8 s after the fourth failure; back online 1 s into it.
    calls[3]!.end({ kind: 'failed' })
    await vi.advanceTimersByTimeAsync(1000)
    connection.retrySoon()
    await vi.advanceTimersByTimeAsync(999)
    expect(calls).toHaveLength(4)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(5)
  })

  it('reopens a stream that was open while the page went offline from its position, a first step after it is back', async () => {
    const { transport, calls } = scriptedTransport()
    let position = 'u1:1-0'
    const connection = start(transport, { lastEventId: () => position })
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onRetry(1000)
    calls[0]!.sink.onEvent(READY)
    position = 'u1:2-0'
    // Back online without having gone offline during this stream: nothing says it lost its connection.
    connection.retrySoon()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(calls).toHaveLength(1)
    connection.networkLost()
    connection.retrySoon()
    // The first step (1 s, jitter at its top) later, and not before.
    await vi.advanceTimersByTimeAsync(999)
    expect(calls[0]!.attempt.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls[0]!.attempt.signal.aborted).toBe(true)
    await vi.advanceTimersByTimeAsync(0)
    expect(calls).toHaveLength(2)
    expect(calls[1]!.attempt.lastEventId).toBe('u1:2-0')
    calls[1]!.sink.onEvent(READY)
    // To the app it stayed open: no reconnecting in between.
    expect(states).toEqual(['connecting', 'open', 'open'])
  })

  it('reopens a stream once however often the network flaps, after it settles', async () => {
    const { transport, calls } = scriptedTransport()
    const connection = start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onRetry(1000)
    calls[0]!.sink.onEvent(READY)
    // A flapping network, as DevTools emulation passes on: 20 offline/online pairs in 0.4 s,
    // each `online` a moment too soon for the reopen it scheduled, and then offline for a while.
    for (let i = 0; i < 20; i++) {
      connection.networkLost()
      await vi.advanceTimersByTimeAsync(10)
      connection.retrySoon()
      await vi.advanceTimersByTimeAsync(10)
    }
    connection.networkLost()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(calls).toHaveLength(1)
    connection.retrySoon()
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls).toHaveLength(2)
    calls[1]!.sink.onEvent(READY)
    // The new stream opened after the last `offline`: another `online` leaves it alone.
    connection.retrySoon()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(calls).toHaveLength(2)
  })

  it('keeps the backoff it grew when it reopens an attempt still setting up', async () => {
    const { transport, calls } = scriptedTransport()
    const connection = start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onRetry(1000)
    // Three failures; the fourth attempt is setting up as the network goes and comes back.
    await failInTurn(calls, 3)
    connection.networkLost()
    connection.retrySoon()
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls).toHaveLength(5)
    calls[4]!.end({ kind: 'failed' })
    // Not from the first step again: 8 s, as after a fourth failure (jitter at its top).
    await vi.advanceTimersByTimeAsync(7999)
    expect(calls).toHaveLength(5)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(6)
  })

  it('does not cut a wait the gateway asked for when the network is back', async () => {
    const { transport, calls } = scriptedTransport()
    const connection = start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onEvent({
      type: 'herald.unavailable',
      data: '{"reason":"draining","retryMs":20000}',
      lastEventId: '',
    })
    calls[0]!.end({ kind: 'ended' })
    await vi.advanceTimersByTimeAsync(5000)
    connection.retrySoon()
    await vi.advanceTimersByTimeAsync(14_999)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(2)
  })

  // Streams that go live and end at once, as from an upstream that closes every stream.
  it.each([
    // 100, 100, 200, 400, ... ms apart, as after failed attempts: 8 streams in 12 s, not hundreds.
    ['retry: 0 as each stream opens', 8, (sink: StreamSink) => [sink.onRetry(0), sink.onEvent(READY)]],
    // 500, 1000, 2000, 4000 ms apart (half steps from 1 s): 5 streams in 12 s, not 100.
    ['retry: 100 as it ends each stream', 5, (sink: StreamSink) => [sink.onEvent(READY), sink.onRetry(100)]],
  ] as const)('does not reconnect in a hot loop to an upstream that sends %s', async (_, streams, answer) => {
    // Jitter at its lowest: the shortest waits a client can draw.
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const { transport, calls } = scriptedTransport()
    start(transport)
    let answered = 0
    for (let elapsed = 0; elapsed < 12_000; elapsed += 10) {
      for (const call of calls.slice(answered)) {
        answer(call.sink)
        call.end({ kind: 'ended' })
      }
      answered = calls.length
      await vi.advanceTimersByTimeAsync(10)
    }
    expect(calls).toHaveLength(streams)
  })

  it('waits as long as a Retry-After asks (up to maxRetryMs) before trying again', async () => {
    const { transport, calls } = scriptedTransport()
    start(transport)
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.end({ kind: 'failed', retryAfterMs: 8000 })
    await vi.advanceTimersByTimeAsync(7999)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(2)
    calls[1]!.end({ kind: 'failed', retryAfterMs: 86_400_000 })
    await vi.advanceTimersByTimeAsync(30_000)
    expect(calls).toHaveLength(3)
  })

  it('gets a fresh token after a 401, gives up after three in a row, and reports a 403 at once', async () => {
    const { transport, calls } = scriptedTransport()
    const refused: string[] = []
    start(transport, { onRefused: (end) => refused.push(end.code) })
    const unauthorized: StreamEnd = { kind: 'refused', status: 401, code: 'HERALD_ERR_TOKEN_EXPIRED', message: '' }
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(0)
      calls[i]!.end(unauthorized)
      await vi.advanceTimersByTimeAsync(30_000)
    }
    expect(tokens).toBe(4)
    expect(new Set(calls.map((c) => c.attempt.token)).size).toBe(4)
    expect(refused).toEqual(['HERALD_ERR_TOKEN_EXPIRED'])
    expect(states.at(-1)).toBe('closed')

    const forbidden = scriptedTransport()
    start(forbidden.transport, { onRefused: (end) => refused.push(end.code) })
    await vi.advanceTimersByTimeAsync(0)
    forbidden.calls[0]!.end({ kind: 'refused', status: 403, code: 'HERALD_ERR_TOPIC_FORBIDDEN', message: '' })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(forbidden.calls).toHaveLength(1)
    expect(refused.at(-1)).toBe('HERALD_ERR_TOPIC_FORBIDDEN')
  })

  it('never sends text that cannot be a token (an error page): a failed getToken call, made again after a backoff', async () => {
    const { transport, calls } = scriptedTransport()
    const answers = ['<html>\n<h1>502 Bad Gateway</h1>\n</html>', 'an error – with a dash']
    const getToken = async () => {
      tokens++
      return answers.shift() ?? fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    }
    start(transport, { getToken })
    await vi.advanceTimersByTimeAsync(0)
    expect(calls).toHaveLength(0)
    while (calls.length === 0) await vi.advanceTimersByTimeAsync(100)
    expect(tokens).toBe(3)
    expect(calls[0]!.attempt.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]*$/)
    calls[0]!.sink.onEvent(READY)
    expect(states).toEqual(['connecting', 'open'])
  })

  it('uses a token that looks expired by its clock for one stream, and leaves its expiry to the server', async () => {
    const { transport, calls } = scriptedTransport()
    // The client's clock is ten minutes ahead of the server's: every fresh token looks expired.
    const skewedToken = async () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 300, n: ++tokens })
    start(transport, { getToken: skewedToken })
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(600_000)
    expect(tokens).toBe(1)
    expect(calls).toHaveLength(1)
    expect(states).toEqual(['connecting', 'open'])
    // The server closes the stream at the token's real expiry: the next attempt brings a new token.
    calls[0]!.end({ kind: 'ended' })
    while (calls.length === 1) await vi.advanceTimersByTimeAsync(10)
    expect(tokens).toBe(2)
    expect(calls[1]!.attempt.token).not.toBe(calls[0]!.attempt.token)
  })

  it('fetches tokens that keep arriving expired less and less often, up to maxRetryMs apart', async () => {
    const { transport, calls } = scriptedTransport()
    const fetchedAt: number[] = []
    const staleToken = async () => {
      fetchedAt.push(Date.now())
      return fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60, n: ++tokens })
    }
    start(transport, { getToken: staleToken })
    await vi.advanceTimersByTimeAsync(0)
    // Each stream goes live and ends at once, as a server would close it for a token about to expire.
    for (let i = 0; i < 8; i++) {
      while (calls.length === i) await vi.advanceTimersByTimeAsync(10)
      calls[i]!.sink.onEvent(READY)
      calls[i]!.end({ kind: 'ended' })
    }
    const gaps = fetchedAt.slice(1).map((at, i) => at - fetchedAt[i]!)
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
    expect(tokens).toBe(8)
  })

  it('replaces the token a fifth of its lifetime before expiry, reopening at once without a reconnect state', async () => {
    const { transport, calls } = scriptedTransport()
    const lifetimeS = 100
    start(transport, {
      getToken: async () => fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + lifetimeS, n: ++tokens }),
    })
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(79_000)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(tokens).toBe(2)
    expect(calls).toHaveLength(2)
    expect(calls[0]!.attempt.signal.aborted).toBe(true)
    expect(calls[1]!.attempt.token).not.toBe(calls[0]!.attempt.token)
    expect(states).toEqual(['connecting', 'open'])
  })

  it('refreshes a token that lives longer than a timer can wait (24.8 days) only when it is due', async () => {
    const { transport, calls } = scriptedTransport()
    const expiresAt = Math.floor(Date.now() / 1000) + 30 * 86_400
    start(transport, { getToken: async () => fakeJwt({ sub: 'alice', exp: expiresAt, n: ++tokens }) })
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(5_000)
    expect([tokens, calls.length]).toEqual([1, 1])
    // Refreshed a minute before the expiry, not before.
    await vi.advanceTimersByTimeAsync(30 * 86_400_000 - 5_000 - 60_000 - 1)
    expect([tokens, calls.length]).toEqual([1, 1])
    await vi.advanceTimersByTimeAsync(1)
    expect([tokens, calls.length]).toEqual([2, 2])
  })

  it('reports reconnecting while there is no stream, even when a slow token refresh lands during the wait', async () => {
    const { transport, calls } = scriptedTransport()
    let release: (() => void) | undefined
    start(transport, {
      // 10 s tokens; the refresh at 8 s takes 4 s, past the expiry at which the server ends the stream.
      getToken: async () => {
        const n = ++tokens
        if (n > 1) await new Promise<void>((resolve) => (release = resolve))
        return fakeJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 10, n })
      },
    })
    await vi.advanceTimersByTimeAsync(0)
    calls[0]!.sink.onRetry(3000)
    calls[0]!.sink.onEvent(READY)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tokens).toBe(2)
    calls[0]!.end({ kind: 'ended' })
    await vi.advanceTimersByTimeAsync(0)
    expect(states).toEqual(['connecting', 'open', 'reconnecting'])
    // The new token arrives while the client waits: the next stream is a reconnect, not a token swap.
    await vi.advanceTimersByTimeAsync(2000)
    release!()
    while (calls.length === 1) await vi.advanceTimersByTimeAsync(10)
    expect(tokens).toBe(2)
    expect(calls[1]!.attempt.token).not.toBe(calls[0]!.attempt.token)
    expect(states).toEqual(['connecting', 'open', 'reconnecting'])
    calls[1]!.sink.onEvent(READY)
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open'])
  })

  describe('silence watchdog', () => {
    const readyWithHeartbeat = (heartbeatMs: number) => ({
      type: 'herald.ready',
      data: `{"resume":"exact","replayed":0,"heartbeatMs":${heartbeatMs}}`,
      lastEventId: 'u1:1-0',
    })

    it('ends a stream that stays silent past twice the heartbeat plus 5 s, and resumes from the last id', async () => {
      const { transport, calls } = scriptedTransport()
      start(transport)
      await vi.advanceTimersByTimeAsync(0)
      calls[0]!.sink.onEvent(readyWithHeartbeat(1000))
      // Heartbeats keep it alive for as long as they come.
      for (let i = 0; i < 20; i++) {
        await vi.advanceTimersByTimeAsync(1000)
        calls[0]!.sink.onActivity()
      }
      expect(calls[0]!.attempt.signal.aborted).toBe(false)
      // Then nothing: the limit is 2 × 1000 + 5000 ms.
      await vi.advanceTimersByTimeAsync(6999)
      expect(calls[0]!.attempt.signal.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(calls[0]!.attempt.signal.aborted).toBe(true)
      while (calls.length === 1) await vi.advanceTimersByTimeAsync(10)
      expect(calls[1]!.attempt.lastEventId).toBe('u1:1-0')
      expect(states).toEqual(['connecting', 'open', 'reconnecting'])
    })

    it('clamps a heartbeatMs past what a timer can wait, instead of re-arming in a loop', async () => {
      const { transport, calls } = scriptedTransport()
      start(transport)
      await vi.advanceTimersByTimeAsync(0)
      const armed = vi.spyOn(globalThis, 'setTimeout')
      calls[0]!.sink.onEvent(readyWithHeartbeat(1e10))
      await vi.advanceTimersByTimeAsync(60_000)
      expect(armed.mock.calls.length).toBeLessThan(5)
      // Watched as for the 10-minute heartbeat a server may ask at most: 2 × 600 s + 5 s.
      expect(calls[0]!.attempt.signal.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1_205_000 - 60_000)
      expect(calls[0]!.attempt.signal.aborted).toBe(true)
    })

    it('runs no watchdog when ready names no heartbeat (an older gateway), or over EventSource, which hides heartbeats', async () => {
      for (const [ready, seesHeartbeats] of [
        [READY, true],
        [readyWithHeartbeat(1000), false],
      ] as const) {
        const { transport, calls } = scriptedTransport(seesHeartbeats)
        start(transport)
        await vi.advanceTimersByTimeAsync(0)
        calls[0]!.sink.onEvent(ready)
        await vi.advanceTimersByTimeAsync(600_000)
        expect(calls).toHaveLength(1)
        expect(calls[0]!.attempt.signal.aborted).toBe(false)
        connection?.stop()
      }
    })

    it('stops watching a stream when it ends, and watches the next, before it goes live, as for the default heartbeat', async () => {
      const { transport, calls } = scriptedTransport()
      start(transport)
      await vi.advanceTimersByTimeAsync(0)
      calls[0]!.sink.onEvent(readyWithHeartbeat(1000))
      calls[0]!.end({ kind: 'ended' })
      while (calls.length === 1) await vi.advanceTimersByTimeAsync(10)
      // The next stream has not gone live: the 1 s heartbeat's 7 s limit is gone with the first
      // stream, and until herald.ready the default 15 s heartbeat's (35 s) applies, over either
      // transport; bytes keep it alive.
      await vi.advanceTimersByTimeAsync(30_000)
      calls[1]!.sink.onActivity()
      await vi.advanceTimersByTimeAsync(34_999)
      expect(calls[1]!.attempt.signal.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(calls[1]!.attempt.signal.aborted).toBe(true)
      while (calls.length === 2) await vi.advanceTimersByTimeAsync(10)
      expect(calls[2]!.attempt.lastEventId).toBe('u1:1-0')
    })
  })
})
