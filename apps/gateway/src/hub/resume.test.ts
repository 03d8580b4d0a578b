import net from 'node:net'
import { pollUntil } from '@herald/redis-harness'
import { afterEach, describe, expect, it } from 'vitest'
import { RecordingEventSource, recordingLogger, startTestGateway, type TestGateway } from '../../test/harness.js'
import { REPLAY_PAGE_BYTES } from './resume.js'

/** Cuts every stream on the node from the server side, as a crash of the connection would. */
function dropAllStreams(gateway: TestGateway): void {
  for (const connection of [...gateway.services.hub.connections]) connection.close('error')
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('resume with Last-Event-ID', () => {
  let gateway: TestGateway
  const clients: RecordingEventSource[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close()
    await gateway.close()
  })
  const connect = async (
    user: string,
    options: {
      topics?: string
      lastEventId?: string
      grants?: string[]
      query?: Record<string, string>
    } = {},
  ) => {
    const token = await gateway.token(user, options.grants === undefined ? {} : { topics: options.grants })
    const query = {
      ...(options.topics === undefined ? {} : { topics: options.topics }),
      ...options.query,
    }
    const client = new RecordingEventSource(gateway.eventsUrl(query), {
      token,
      ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
    })
    clients.push(client)
    return client
  }

  it('delivers every message exactly once, in order, across disconnects while publishing continues', async () => {
    gateway = await startTestGateway()
    const client = await connect('alice')
    await client.waitForReady()
    const total = 600
    const publishing = (async () => {
      for (const n of range(0, total)) {
        const result = await gateway.publish({ user: 'alice', data: n })
        expect(result.status).toBe(200)
      }
    })()
    await client.waitForEvents(100)
    dropAllStreams(gateway)
    await client.waitForEvents(300)
    dropAllStreams(gateway)
    await publishing
    await client.waitForEvents(total)
    expect(client.payloads()).toEqual(range(0, total))
    expect(client.readies).toBeGreaterThanOrEqual(3)
  })

  it('resumes from a stored position given as the lastEventId query parameter or the header', async () => {
    gateway = await startTestGateway()
    const first = await connect('bob')
    await first.waitForReady()
    for (const n of range(0, 10)) await gateway.publish({ user: 'bob', data: n })
    await first.waitForEvents(10)
    first.close()
    const stored = first.events[9]!.lastEventId
    for (const n of range(10, 30)) await gateway.publish({ user: 'bob', data: n })

    const viaQuery = await connect('bob', { query: { lastEventId: stored } })
    const viaHeader = await connect('bob', { lastEventId: stored })
    await Promise.all([viaQuery.waitForEvents(20), viaHeader.waitForEvents(20)])
    await gateway.publish({ user: 'bob', data: 30 })
    await Promise.all([viaQuery.waitForEvents(21), viaHeader.waitForEvents(21)])
    expect(viaQuery.payloads()).toEqual(range(10, 31))
    expect(viaHeader.payloads()).toEqual(range(10, 31))
  })

  it('resumes a user channel and its topics together, each exactly', async () => {
    gateway = await startTestGateway()
    const client = await connect('carol', { topics: 'news,org/1/ops', grants: ['news', 'org/1/*'] })
    await client.waitForReady()
    const targets = [{ user: 'carol' }, { topic: 'news' }, { topic: 'org/1/ops' }]
    const publishing = (async () => {
      for (const n of range(0, 300)) await gateway.publish({ ...targets[n % 3], data: n })
    })()
    await client.waitForEvents(60)
    dropAllStreams(gateway)
    await client.waitForEvents(200)
    dropAllStreams(gateway)
    await publishing
    await client.waitForEvents(300)
    // Each channel exactly once and in order; replay merges channels by time.
    const payloads = client.payloads() as number[]
    expect(payloads).toHaveLength(300)
    for (const channel of [0, 1, 2]) {
      expect(payloads.filter((n) => n % 3 === channel)).toEqual(range(0, 300).filter((n) => n % 3 === channel))
    }
  })

  it('keeps the position of a connection that has received nothing yet', async () => {
    gateway = await startTestGateway()
    const client = await connect('dave')
    await client.waitForReady()
    dropAllStreams(gateway)
    for (const n of range(0, 3)) await gateway.publish({ user: 'dave', data: n })
    await client.waitForEvents(3)
    expect(client.payloads()).toEqual([0, 1, 2])
    expect(client.count('herald.reset')).toBe(0)
  })

  it('starts with herald.reset {reason: "trimmed"} when history no longer reaches back, then continues live', async () => {
    gateway = await startTestGateway({ HISTORY_MAX_LEN: '5' })
    const first = await connect('erin')
    await first.waitForReady()
    await gateway.publish({ user: 'erin', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    for (const n of range(0, 50)) await gateway.publish({ user: 'erin', data: n })

    const resumed = await connect('erin', { lastEventId: first.events[0]!.lastEventId })
    await resumed.waitForEvents(1, 'herald.reset')
    await gateway.publish({ user: 'erin', data: 'after reset' })
    await resumed.waitForEvents(2)
    expect(resumed.events.map((e) => e.type)).toEqual(['herald.reset', 'message'])
    expect(JSON.parse(resumed.events[0]!.data)).toEqual({ reason: 'trimmed' })
    expect(resumed.payloads()).toEqual(['after reset'])
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/^herald_resumes_total\{outcome="reset"\} 1$/m)

    // The reset carries a position: resuming from it is exact again.
    resumed.close()
    await gateway.publish({ user: 'erin', data: 'later' })
    const again = await connect('erin', { lastEventId: resumed.events[1]!.lastEventId })
    await again.waitForEvents(1)
    expect(again.events.map((e) => [e.type, JSON.parse(e.data)])).toEqual([['message', 'later']])
  })

  it('announces herald.reset where the gap is when history is trimmed during the replay, and counts what came before', async () => {
    gateway = await startTestGateway({ HISTORY_MAX_LEN: '300' })
    const { broker } = gateway.services
    const publishMany = (count: number, from: number) =>
      broker.publish(
        range(from, from + count).map((n) => ({
          channelKey: 'u:ivan',
          type: undefined,
          data: String(n),
          idempotencyKey: undefined,
        })),
      )
    const first = await connect('ivan')
    await first.waitForReady()
    await gateway.publish({ user: 'ivan', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    await publishMany(250, 0)
    // A burst lands between the replay's first page (200 entries) and its second, and
    // trims the history past the first page.
    const readAfter = broker.readAfter.bind(broker)
    let reads = 0
    broker.readAfter = async (...args) => {
      if (++reads === 2) await publishMany(400, 250)
      return readAfter(...args)
    }
    const token = await gateway.token('ivan')
    const resumed = new RecordingEventSource(gateway.eventsUrl(), {
      token,
      lastEventId: first.events[0]!.lastEventId,
      types: ['herald.ready'],
    })
    clients.push(resumed)
    await resumed.waitForEvents(1, 'herald.ready')
    await gateway.publish({ user: 'ivan', data: 'after' })
    await resumed.waitForEvents(203)
    expect(resumed.payloads()).toEqual([...range(0, 200), 'after'])
    expect(resumed.events.slice(200, 202).map((e) => [e.type, JSON.parse(e.data)])).toEqual([
      ['herald.reset', { reason: 'trimmed' }],
      ['herald.ready', { resume: 'reset', replayed: 200, heartbeatMs: 15000 }],
    ])
  })

  it('replays a history larger than the socket buffer without piling listeners on the response', async () => {
    gateway = await startTestGateway({ HISTORY_MAX_LEN: '400' })
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const first = await connect('judy')
      await first.waitForReady()
      await gateway.publish({ user: 'judy', data: 'seen' })
      await first.waitForEvents(1)
      first.close()
      const padding = 'x'.repeat(3000)
      await gateway.services.broker.publish(
        range(0, 300).map((n) => ({
          channelKey: 'u:judy',
          type: undefined,
          data: JSON.stringify({ n, padding }),
          idempotencyKey: undefined,
        })),
      )
      const resumed = await connect('judy', { lastEventId: first.events[0]!.lastEventId })
      await resumed.waitForEvents(300)
      expect(resumed.payloads().map((p) => (p as { n: number }).n)).toEqual(range(0, 300))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
  })

  it('ends a resume whose client resets the connection as a closed stream, not as a failed setup', async () => {
    const warnings: string[] = []
    gateway = await startTestGateway({}, { logger: recordingLogger('warn', warnings).logger })
    const first = await connect('kim')
    await first.waitForReady()
    await gateway.publish({ user: 'kim', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    const resumeFrom = first.events[0]!.lastEventId
    // Only what the resume leaves: the embedded broker's startup warning goes.
    warnings.splice(0)
    const [entryId] = await gateway.services.broker.publish([
      {
        channelKey: 'u:kim',
        type: undefined,
        data: JSON.stringify('x'.repeat(8 * 1024 * 1024)),
        idempotencyKey: undefined,
      },
    ])
    const token = await gateway.token('kim')
    const { hostname, port } = new URL(gateway.url)
    const socket = net.connect(Number(port), hostname)
    socket.pause()
    socket.on('error', () => {})
    // Resumes from before the entry: its 8 MB cannot leave while the client reads nothing.
    socket.write(
      `GET /v1/events HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nLast-Event-ID: ${resumeFrom}\r\n\r\n`,
    )
    // Written once its position is the entry's: the replay then waits for the socket to drain.
    const replaying = () => [...gateway.services.hub.connections][0]
    await pollUntil('the entry written', async () =>
      replaying()?.resumeToken().endsWith(entryId!) === true ? true : undefined,
    )
    const stream = replaying()!
    socket.resetAndDestroy()
    await pollUntil('the stream closed', async () => (stream.state === 'closed' ? true : undefined))
    // What a failed setup leaves, if anything, comes on the turns after the close.
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.map((line) => JSON.parse(line).msg)).toEqual([])
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/^herald_connections_rejected_total\{reason="broker_unavailable"\} 0$/m)
  })

  it('replays a large history in pages of at most REPLAY_PAGE_BYTES of data, every entry once, across channels', async () => {
    gateway = await startTestGateway({ HISTORY_MAX_LEN: '1000' })
    const { broker } = gateway.services
    const first = await connect('mona', { topics: 'big', grants: ['big'] })
    await first.waitForReady()
    await gateway.publish({ user: 'mona', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    // 2 x 150 entries of 5 kB: 1.5 MB, where one page of 200 entries was all of a channel's.
    const padding = 'x'.repeat(5_000)
    for (const channelKey of ['u:mona', 't:big']) {
      await broker.publish(
        range(0, 150).map((n) => ({
          channelKey,
          type: undefined,
          data: JSON.stringify({ channelKey, n, padding }),
          idempotencyKey: undefined,
        })),
      )
    }
    const readAfter = broker.readAfter.bind(broker)
    const pageBytes: number[] = []
    broker.readAfter = async (...args) => {
      const page = await readAfter(...args)
      if (page.outcome === 'entries') pageBytes.push(page.entries.reduce((sum, entry) => sum + entry.data.length, 0))
      return page
    }
    const resumed = await connect('mona', { topics: 'big', grants: ['big'], lastEventId: first.events[0]!.lastEventId })
    await resumed.waitForReady()
    const replayed = resumed.payloads() as Array<{ channelKey: string; n: number }>
    for (const channelKey of ['u:mona', 't:big']) {
      expect(replayed.filter((p) => p.channelKey === channelKey).map((p) => p.n)).toEqual(range(0, 150))
    }
    expect(replayed).toHaveLength(300)
    expect(pageBytes.length).toBeGreaterThan(2 * Math.ceil((150 * 5_000) / REPLAY_PAGE_BYTES) - 1)
    expect(Math.max(...pageBytes)).toBeLessThanOrEqual(REPLAY_PAGE_BYTES)
  })

  it('replays and delivers entries larger than MAX_PENDING_BYTES to a client that reads them', async () => {
    // The smallest bound the config takes, and entries of 100 kB: each is over it on its own.
    gateway = await startTestGateway({ MAX_PENDING_BYTES: '1024' })
    const first = await connect('kate')
    await first.waitForReady()
    await gateway.publish({ user: 'kate', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    const large = (n: number) => ({ n, padding: 'x'.repeat(100_000) })
    for (const n of range(0, 3)) expect((await gateway.publish({ user: 'kate', data: large(n) })).status).toBe(200)
    const resumed = await connect('kate', { lastEventId: first.events[0]!.lastEventId })
    await resumed.waitForEvents(3)
    await resumed.waitForReady()
    expect((await gateway.publish({ user: 'kate', data: large(3) })).status).toBe(200)
    await resumed.waitForEvents(4)
    expect(resumed.payloads()).toEqual(range(0, 4).map(large))
    expect(resumed.readies).toBe(1)
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^herald_slow_consumer_disconnects_total 0$/m)
  })

  it('holds live entries behind a long replay to a client that reads, however many bytes they come to in all', async () => {
    // The default bound, 1 MiB. The kernel takes a few MB of the replay at once, and the node sees
    // the client read only as it frees room: a smaller bound would count what arrives meanwhile.
    gateway = await startTestGateway()
    const first = await connect('lea')
    await first.waitForReady()
    await gateway.publish({ user: 'lea', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    const entry = (n: number, bytes: number) => ({
      channelKey: 'u:lea',
      type: undefined,
      data: JSON.stringify({ n, padding: 'x'.repeat(bytes) }),
      idempotencyKey: undefined,
    })
    // 20 MB of history: the replay goes at the client's pace, far beyond the socket buffers.
    await gateway.services.broker.publish(range(0, 1000).map((n) => entry(n, 20_000)))
    const resumed = await connect('lea', { lastEventId: first.events[0]!.lastEventId })
    // One live entry of 40 kB per 20 replayed (400 kB) as they arrive: 1.6 MB held in all by
    // the end of the replay, more than the bound, while the client reads on.
    for (let k = 1; k <= 40; k++) {
      await resumed.waitUntil(() => resumed.count('message') >= 20 * k, `${20 * k} replayed`)
      await gateway.services.broker.publish([entry(1000 + k, 40_000)])
    }
    await resumed.waitForEvents(1040)
    // herald.ready follows the replay, which reads the live entries from history too: the last
    // of them can reach the client before it.
    await resumed.waitForReady()
    expect(resumed.payloads().map((p) => (p as { n: number }).n)).toEqual([...range(0, 1000), ...range(1001, 1041)])
    expect(resumed.readies).toBe(1)
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^herald_slow_consumer_disconnects_total 0$/m)
  })

  it('drops what is held behind the replay of a client that stopped reading, and cuts it once it took nothing for twice the heartbeat interval', async () => {
    // Replayed entries of 10 kB leave the writer under the bound at every pause, so the heartbeat
    // sweep, which judges what the writer holds, does not cut it: what is held behind the replay does.
    gateway = await startTestGateway({
      MAX_PENDING_BYTES: '65536',
      HEARTBEAT_INTERVAL_MS: '1000',
      HISTORY_MAX_LEN: '10000',
    })
    const first = await connect('kim')
    await first.waitForReady()
    await gateway.publish({ user: 'kim', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    const entry = (bytes: number) => ({
      channelKey: 'u:kim',
      type: undefined,
      data: `"${'x'.repeat(bytes)}"`,
      idempotencyKey: undefined,
    })
    // 40 MB of history: more than loopback's socket buffers take from a client that reads nothing.
    await gateway.services.broker.publish(range(0, 4000).map(() => entry(10_000)))
    const { port } = new URL(gateway.url)
    const stalled = net.connect(Number(port), '127.0.0.1')
    stalled.pause()
    stalled.write(
      `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await gateway.token('kim')}\r\nLast-Event-ID: ${first.events[0]!.lastEventId}\r\n\r\n`,
    )
    try {
      const stream = await pollUntil('the stalled stream to resume', async () =>
        [...gateway.services.hub.connections].find((connection) => connection.userId === 'kim'),
      )
      // Live entries of 1 kB, one a turn of the event loop, until the stream is cut.
      let live = 0
      while (stream.state === 'resuming' && live < 1_000_000) {
        await gateway.services.broker.publish([entry(1_000)])
        live++
        await new Promise((resolve) => setImmediate(resolve))
      }
      // Not at the bound (65 entries), which dropped what was held and went on: once the client
      // had taken nothing for 2 s.
      expect(stream.state).toBe('closed')
      expect(live).toBeGreaterThan(2 * 65)
      expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(
        /^herald_slow_consumer_disconnects_total 1$/m,
      )
    } finally {
      stalled.destroy()
    }
  })

  it('brings live a resuming client that reads faster than live entries come, however long the kernel shows no progress', async () => {
    // The kernel takes a replay in MB at a time, and more only once it has sent about half of
    // what it holds: a client reading 2 MB/s shows no progress for a second at a time, while live
    // entries past the 64 kB bound come meanwhile. Held, they would have cut it as a slow consumer.
    gateway = await startTestGateway({ MAX_PENDING_BYTES: '65536', HISTORY_MAX_LEN: '10000' })
    const first = await connect('kit')
    await first.waitForReady()
    await gateway.publish({ user: 'kit', data: -1 })
    await first.waitForEvents(1)
    first.close()
    const entry = (n: number) => ({
      channelKey: 'u:kit',
      type: undefined,
      data: JSON.stringify({ n, padding: 'x'.repeat(10_000) }),
      idempotencyKey: undefined,
    })
    // 15 MB of history.
    await gateway.services.broker.publish(range(0, 1500).map(entry))
    const { port } = new URL(gateway.url)
    const reader = net.connect(Number(port), '127.0.0.1')
    let text = ''
    // 100 kB every 50 ms: 2 MB/s.
    let budget = 100_000
    const refill = setInterval(() => {
      budget = 100_000
      reader.resume()
    }, 50)
    reader.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      budget -= chunk.length
      if (budget <= 0) reader.pause()
    })
    let cut = false
    reader.on('close', () => {
      cut = true
    })
    reader.write(
      `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await gateway.token('kit')}\r\nLast-Event-ID: ${first.events[0]!.lastEventId}\r\n\r\n`,
    )
    try {
      // 1 MB/s of live entries while it replays, half the client's pace: 100 of 10 kB a second.
      let n = 1500
      while (!text.includes('event: herald.ready') && !cut && n < 6000) {
        await gateway.services.broker.publish([entry(n++)])
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(cut, 'cut while it replayed').toBe(false)
      await gateway.services.broker.publish([entry(n++)])
      await pollUntil('the last entry', async () => (text.includes(`{"n":${n - 1},`) ? true : undefined))
      const received = [...text.matchAll(/^data: \{"n":(\d+),/gm)].map((match) => Number(match[1]))
      expect(received).toEqual(range(0, n))
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
      expect(metrics).toMatch(/^herald_slow_consumer_disconnects_total 0$/m)
      // The live entries it held went past the bound at least once, and were read from history.
      expect(Number(/^herald_replay_passes_after_drops_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0)
      expect(metrics).toMatch(/^herald_connections_in_setup 0$/m)
    } finally {
      clearInterval(refill)
      reader.destroy()
    }
  })

  it('holds, not cuts, live entries past MAX_PENDING_BYTES for a stream whose setup waits on the broker before anything was sent', async () => {
    gateway = await startTestGateway({ MAX_PENDING_BYTES: '65536' })
    const live = await connect('mia')
    await live.waitForReady()
    await gateway.publish({ user: 'mia', data: { n: -1 } })
    await live.waitForEvents(1)
    // The resuming stream's setup waits on its first read, as on a slow Redis: its head is held.
    const broker = gateway.services.broker
    const readAfter = broker.readAfter.bind(broker)
    let open = () => {}
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    broker.readAfter = async (...args: Parameters<typeof readAfter>) => {
      await gate
      return readAfter(...args)
    }
    const waiting = await connect('mia', { lastEventId: live.events[0]!.lastEventId })
    const stream = await pollUntil('the second stream in setup', async () =>
      [...gateway.services.hub.connections].find((connection) => connection.state === 'resuming'),
    )
    // 20 entries of 10 kB, past the 64 kB bound, while the stream has sent its client nothing.
    for (let n = 0; n < 20; n++) await gateway.publish({ user: 'mia', data: { n, pad: 'x'.repeat(10_000) } })
    expect(stream.state).toBe('resuming')
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^herald_connections_in_setup 1$/m)
    open()
    await waiting.waitForEvents(20)
    await waiting.waitForReady()
    expect(waiting.payloads().map((p) => (p as { n: number }).n)).toEqual(range(0, 20))
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/^herald_slow_consumer_disconnects_total 0$/m)
    expect(metrics).toMatch(/^herald_connections_in_setup 0$/m)
  })

  it('replays many small entries under a MAX_PENDING_BYTES below the socket buffer mark', async () => {
    // 40 entries of about 300 bytes each against a 2 kB bound: the replay holds less than the
    // socket's 16 kB mark, so it must hand what it holds to the kernel before the bound is reached.
    gateway = await startTestGateway({ MAX_PENDING_BYTES: '2048' })
    const first = await connect('lena')
    await first.waitForReady()
    await gateway.publish({ user: 'lena', data: 'seen' })
    await first.waitForEvents(1)
    first.close()
    const entry = (n: number) => ({ n, padding: 'x'.repeat(250) })
    await gateway.services.broker.publish(
      range(0, 40).map((n) => ({
        channelKey: 'u:lena',
        type: undefined,
        data: JSON.stringify(entry(n)),
        idempotencyKey: undefined,
      })),
    )
    const resumed = await connect('lena', { lastEventId: first.events[0]!.lastEventId })
    await resumed.waitForReady()
    expect(resumed.payloads()).toEqual(range(0, 40).map(entry))
    expect(resumed.readies).toBe(1)
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^herald_slow_consumer_disconnects_total 0$/m)
  })

  it('starts with herald.reset {reason: "unknown"} for a position of another user or from the future', async () => {
    gateway = await startTestGateway()
    const other = await connect('frank')
    await other.waitForReady()
    await gateway.publish({ user: 'frank', data: 1 })
    await other.waitForEvents(1)

    const foreign = await connect('grace', { lastEventId: other.events[0]!.lastEventId })
    await foreign.waitForEvents(1, 'herald.reset')
    expect(JSON.parse(foreign.events[0]!.data)).toEqual({ reason: 'unknown' })

    const tag = other.events[0]!.lastEventId.split(':')[0]
    const future = await connect('frank', { lastEventId: `${tag}:${Date.now() + 3_600_000}-0` })
    await future.waitForEvents(1, 'herald.reset')
    expect(JSON.parse(future.events[0]!.data)).toEqual({ reason: 'unknown' })
  })

  it('starts with herald.reset {reason: "unknown"} for another user\'s position, even on a topic both streams carry', async () => {
    gateway = await startTestGateway()
    const other = await connect('ivan', { topics: 'news', grants: ['news'] })
    await other.waitForReady()
    await gateway.publish({ topic: 'news', data: 1 })
    await other.waitForEvents(1)
    await gateway.publish({ user: 'judy', data: 'missed' })

    const foreign = await connect('judy', {
      topics: 'news',
      grants: ['news'],
      lastEventId: other.events[0]!.lastEventId,
    })
    await foreign.waitForEvents(1, 'herald.reset')
    expect(JSON.parse(foreign.events[0]!.data)).toEqual({ reason: 'unknown' })
    // A reset replays nothing, the user's own entry included.
    await foreign.waitForReady()
    expect(foreign.payloads()).toEqual([])
  })

  it('starts with herald.reset {reason: "malformed"} for an unreadable position', async () => {
    gateway = await startTestGateway()
    for (const garbage of ['garbage', 'u12345678:1-0,', 'x'.repeat(5000), '🔔']) {
      const client = await connect('heidi', { query: { lastEventId: garbage } })
      await client.waitForEvents(1, 'herald.reset')
      expect(JSON.parse(client.events[0]!.data)).toEqual({ reason: 'malformed' })
      client.close()
    }
  })
})
