/**
 * The hub's catch-up after a hold, on a real Redis: the broker's calls (suspend, then resync once
 * its subscriber is back) are made directly, so a stream can be caught in its setup between them.
 */
import { Socket } from 'node:net'
import { streamKey } from '@herald/publisher/internal'
import { pollUntil, type RedisServer, startRedis } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import { RecordingEventSource, recordingLogger, startTestGateway, type TestGateway } from '../../test/harness.js'
import { type TurnCounter, turnCounter } from '../../test/turn-counter.js'
import type { Broker, HistoryEntry } from '../broker/broker.js'
import { monotonicMs } from '../clock/monotonic-ms.js'
import type { StartOptions } from '../server.js'
import { CATCH_UPS_IN_FLIGHT, type Hub } from './hub.js'
import { CLOSES_PER_TURN } from './sliced-closer.js'
import { SseConnection } from './sse-connection.js'
import { WRITES_PER_TURN } from './turn-budget.js'

/**
 * Resolves when a stream has replayed (or started at its tails) and asks the hub whether a hold
 * came during its setup: the test's cue, nothing more.
 */
function askedAfterHolds(hub: Hub): Promise<void> {
  const afterHolds = hub.afterHolds.bind(hub)
  return new Promise<void>((resolve) => {
    hub.afterHolds = (connection: SseConnection) => {
      resolve()
      return afterHolds(connection)
    }
  })
}

/**
 * A gateway on its own Redis, with `env` besides REDIS_URL: runs `test`, then closes the tabs it
 * opened, the gateway and Redis, whatever happened.
 */
async function onRedisGateway(
  env: Record<string, string>,
  test: (setup: { gateway: TestGateway; redis: RedisServer; tabs: RecordingEventSource[] }) => Promise<void>,
  options: StartOptions = {},
): Promise<void> {
  const redis = await startRedis()
  const gateway = await startTestGateway({ REDIS_URL: redis.url, ...env }, options)
  const tabs: RecordingEventSource[] = []
  try {
    await test({ gateway, redis, tabs })
  } finally {
    for (const tab of tabs) tab.close()
    await gateway.close()
    await redis.stop()
  }
}

/** Resolves once each tab was closed once and came back, and has `expected` whole, in order, with no reset. */
async function resumedExactly(tabs: readonly RecordingEventSource[], expected: readonly unknown[]): Promise<void> {
  await Promise.all(tabs.map((tab) => tab.waitForReady(2)))
  await Promise.all(tabs.map((tab) => tab.waitForEvents(expected.length)))
  for (const tab of tabs) {
    expect(tab.payloads()).toEqual(expected)
    expect(tab.events.map((event) => event.type)).not.toContain('herald.reset')
  }
}

/** The parsed log lines whose message matches `message`. */
function logged(lines: readonly string[], message: RegExp): any[] {
  return lines.map((line) => JSON.parse(line)).filter((line) => message.test(line.msg))
}

describe('hub catch-up after a hold', () => {
  it('lets a stream that began its setup during the hold go live after it, and keeps the live streams of its channel open', async () => {
    await onRedisGateway({}, async ({ gateway, redis, tabs }) => {
      try {
        const live = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('alice') })
        tabs.push(live)
        await live.waitForReady()
        expect((await gateway.publish({ user: 'alice', data: 1 })).status).toBe(200)
        await live.waitForEvents(1)
        const hub = gateway.services.hub
        // What the broker does when its subscriber drops: live delivery held until the catch-up.
        hub.suspend()
        // Redis answers nothing meanwhile (stopped), so a new stream's setup stops before it has a position.
        process.kill(redis.pid!, 'SIGSTOP')
        const joining = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('alice') })
        tabs.push(joining)
        await pollUntil('the new stream attached', async () => (hub.connectionCount === 2 ? true : undefined))
        // The subscriber is back: the channel is caught up from its live stream's position.
        const resynced = hub.resync()
        process.kill(redis.pid!, 'SIGCONT')
        expect(await resynced).toBe(0)
        // Its setup ends once Redis answers, and it waits for the catch-up to go live: not turned away.
        await joining.waitForReady()
        expect((await gateway.publish({ user: 'alice', data: 2 })).status).toBe(200)
        await live.waitForEvents(2)
        await joining.waitForEvents(1)
        expect(live.payloads()).toEqual([1, 2])
        expect(joining.payloads()).toEqual([2])
        // Never closed: one connection each, live once.
        expect([live.opens, live.readies, joining.opens, joining.readies]).toEqual([1, 1, 1, 1])
        expect(joining.events.map((event) => event.type)).not.toContain('herald.unavailable')
      } finally {
        process.kill(redis.pid!, 'SIGCONT')
      }
    })
  })

  it('resets a stream in setup whose history a hold outlasted: herald.reset before herald.ready, then live', async () => {
    // One entry kept per channel (at times two): three publishes trim what follows a position.
    await onRedisGateway({ HISTORY_MAX_LEN: '1' }, async ({ gateway, redis, tabs }) => {
      try {
        const token = await gateway.token('alice')
        const visit = new RecordingEventSource(gateway.eventsUrl(), { token, types: ['herald.ready'] })
        tabs.push(visit)
        await visit.waitForReady()
        const position = visit.events.find((event) => event.type === 'herald.ready')!.lastEventId
        visit.close()
        expect((await gateway.publish({ user: 'alice', data: 1 })).status).toBe(200)
        const hub = gateway.services.hub
        const replayed = askedAfterHolds(hub)
        // Its setup stopped before it subscribed (Redis answers nothing), and its channel held then,
        // as a slot move would.
        process.kill(redis.pid!, 'SIGSTOP')
        const joining = new RecordingEventSource(gateway.eventsUrl(), { token, lastEventId: position })
        tabs.push(joining)
        await pollUntil('the stream attached', async () => (hub.connectionCount === 1 ? true : undefined))
        hub.hold(['u:alice'])
        process.kill(redis.pid!, 'SIGCONT')
        await replayed
        // Published while it waits for the release: the entry after its position is trimmed.
        for (const data of [2, 3, 4]) expect((await gateway.publish({ user: 'alice', data })).status).toBe(200)
        expect(await hub.resync(['u:alice'])).toBe(0)
        await joining.waitForReady()
        expect((await gateway.publish({ user: 'alice', data: 5 })).status).toBe(200)
        await joining.waitForEvents(2, 'message')
        expect(joining.events.map((event) => event.type)).toEqual(['message', 'herald.reset', 'message'])
        expect(joining.payloads()).toEqual([1, 5])
        expect(JSON.parse(joining.events[1]!.data)).toEqual({ reason: 'trimmed' })
        expect([joining.opens, joining.readies]).toEqual([1, 1])
      } finally {
        process.kill(redis.pid!, 'SIGCONT')
      }
    })
  })
})

describe('hub: a fresh stream set up while its node lost the Redis subscriber', () => {
  it('gets what was published since it connected before herald.ready, counted in replayed, and once', async () => {
    await onRedisGateway({}, async ({ gateway, tabs }) => {
      const token = await gateway.token('alice')
      // A live tab keeps the channel, so the hold reaches it.
      const live = new RecordingEventSource(gateway.eventsUrl(), { token })
      tabs.push(live)
      await live.waitForReady()
      const hub = gateway.services.hub
      const waiting = askedAfterHolds(hub)
      // The subscriber dropped: live delivery held until the catch-up.
      hub.suspend()
      const fresh = new RecordingEventSource(gateway.eventsUrl(), { token, types: ['herald.ready'] })
      tabs.push(fresh)
      // Set up from the tail, it waits for the release: what comes meanwhile is held.
      await waiting
      expect((await gateway.publish({ user: 'alice', data: 1 })).status).toBe(200)
      expect(await hub.resync()).toBe(0)
      await fresh.waitForReady()
      expect(fresh.events.map((event) => event.type)).toEqual(['message', 'herald.ready'])
      expect(JSON.parse(fresh.events[1]!.data)).toMatchObject({ resume: 'fresh', replayed: 1 })
      expect((await gateway.publish({ user: 'alice', data: 2 })).status).toBe(200)
      await fresh.waitForEvents(2, 'message')
      await live.waitForEvents(2)
      expect(fresh.payloads()).toEqual([1, 2])
      expect(live.payloads()).toEqual([1, 2])
    })
  })
})

/**
 * A gateway on its own Redis with a tab per user (a channel each), all live, then its subscriber
 * "dropped" (live delivery held) and `data(user)` published to each: what `test` then catches up.
 * The broker's `readAfter` is put back afterwards, for a test that wraps it.
 */
async function withHeldUsers(
  count: number,
  data: (user: string) => unknown,
  test: (setup: {
    gateway: TestGateway
    users: string[]
    tabs: RecordingEventSource[]
    readAfter: Broker['readAfter']
  }) => Promise<void>,
): Promise<void> {
  await onRedisGateway({}, async ({ gateway, tabs }) => {
    const broker = gateway.services.broker
    const readAfter = broker.readAfter
    try {
      const users = Array.from({ length: count }, (_, i) => `user${i}`)
      for (const user of users)
        tabs.push(new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token(user) }))
      await Promise.all(tabs.map((tab) => tab.waitForReady()))
      gateway.services.hub.suspend()
      for (const user of users) expect((await gateway.publish({ user, data: data(user) })).status).toBe(200)
      await test({ gateway, users, tabs, readAfter })
    } finally {
      broker.readAfter = readAfter
    }
  })
}

describe('hub catch-up of many channels', () => {
  it(
    'keeps at most CATCH_UPS_IN_FLIGHT history reads pending, and catches every channel up, each entry once',
    {
      timeout: 60_000,
    },
    () =>
      // A channel per user, more than the reads one resync keeps pending.
      withHeldUsers(
        CATCH_UPS_IN_FLIGHT + 72,
        (user) => user,
        async ({ gateway, users, tabs, readAfter }) => {
          const broker = gateway.services.broker
          let pending = 0
          let most = 0
          broker.readAfter = async function (this: typeof broker, ...args) {
            pending++
            most = Math.max(most, pending)
            try {
              return await readAfter.apply(this, args)
            } finally {
              pending--
            }
          }
          expect(await gateway.services.hub.resync()).toBe(0)
          expect(most).toBe(CATCH_UPS_IN_FLIGHT)
          await Promise.all(tabs.map((tab) => tab.waitForEvents(1)))
          for (const user of users) expect((await gateway.publish({ user, data: 'after' })).status).toBe(200)
          await Promise.all(tabs.map((tab) => tab.waitForEvents(2)))
          expect(tabs.map((tab) => tab.payloads())).toEqual(users.map((user) => [user, 'after']))
        },
      ),
  )
})

describe('hub: a channel held again while it waits its turn in a resync', () => {
  it(
    'is caught up by that resync but stays held until its own, since its hold stamp is taken at the start',
    {
      timeout: 60_000,
    },
    () =>
      // One channel more than the reads a resync keeps pending: the last waits its turn.
      withHeldUsers(
        CATCH_UPS_IN_FLIGHT + 1,
        () => 1,
        async ({ gateway, users, tabs, readAfter }) => {
          const [hub, broker] = [gateway.services.hub, gateway.services.broker]
          // The first reads wait until the test lets them go.
          let letGo = () => {}
          const gate = new Promise<void>((resolve) => {
            letGo = resolve
          })
          const reading = new Set<string>()
          broker.readAfter = async function (this: typeof broker, ...args) {
            reading.add(args[0])
            await gate
            return readAfter.apply(this, args)
          }
          const first = hub.resync()
          const queued = users.find((user) => !reading.has(`u:${user}`))!
          expect(reading.size).toBe(CATCH_UPS_IN_FLIGHT)
          // Its slot moves meanwhile: held again, for a resync of its own.
          hub.hold([`u:${queued}`])
          letGo()
          expect(await first).toBe(0)
          broker.readAfter = readAfter
          const tab = tabs[users.indexOf(queued)]!
          const other = tabs[users.indexOf(queued) === 0 ? 1 : 0]!
          await tab.waitForEvents(1)
          expect((await gateway.publish({ user: queued, data: 2 })).status).toBe(200)
          // Announced after it on the same subscriber: once the other tab has this, the hub had 2.
          expect((await gateway.publish({ user: users[tabs.indexOf(other)]!, data: 2 })).status).toBe(200)
          await other.waitForEvents(2)
          expect(tab.payloads()).toEqual([1])
          expect(await hub.resync([`u:${queued}`])).toBe(0)
          await tab.waitForEvents(2)
          expect(tab.payloads()).toEqual([1, 2])
        },
      ),
  )
})

describe('hub closing the streams a gap cut off', () => {
  it('closes them a slice per turn of the event loop, each once, none reached by what came after the gap', {
    timeout: 60_000,
  }, async () => {
    // One entry kept per channel; RETRY_MS at its least, so the closed tabs come back soon.
    await onRedisGateway(
      { HISTORY_MAX_LEN: '1', MAX_CONNECTIONS_PER_USER: '1000', RETRY_MS: '100' },
      async ({ gateway, tabs }) => {
        const closeWithRetry = SseConnection.prototype.closeWithRetry
        // Which turn of the event loop each close came in.
        const turnsAtCall: number[] = []
        let turns: TurnCounter | undefined
        try {
          const token = await gateway.token('alice')
          // More tabs than one slice closes, all on one channel: one catch-up closes them all.
          const count = CLOSES_PER_TURN + 44
          for (let i = 0; i < count; i++) tabs.push(new RecordingEventSource(gateway.eventsUrl(), { token }))
          await Promise.all(tabs.map((tab) => tab.waitForReady()))
          expect((await gateway.publish({ user: 'alice', data: 1 })).status).toBe(200)
          await Promise.all(tabs.map((tab) => tab.waitForEvents(1)))
          const hub = gateway.services.hub
          // The subscriber dropped: live delivery held while two more publishes trim what follows 1.
          hub.suspend()
          for (const data of [2, 3]) expect((await gateway.publish({ user: 'alice', data })).status).toBe(200)
          SseConnection.prototype.closeWithRetry = function (this: SseConnection, reason, retryMs) {
            turnsAtCall.push(turns!.now())
            closeWithRetry.call(this, reason, retryMs)
          }
          turns = turnCounter()
          expect(await hub.resync()).toBe(1)
          // Detached, none closed yet: still open streams, each holding its socket and slot.
          expect(hub.connectionCount).toBe(count)
          await Promise.all(tabs.map((tab) => tab.waitForReady(2, 30_000)))
          expect((await gateway.publish({ user: 'alice', data: 4 })).status).toBe(200)
          await Promise.all(tabs.map((tab) => tab.waitForEvents(2, 'message')))
          const perTurn = new Map<number, number>()
          for (const at of turnsAtCall) perTurn.set(at, (perTurn.get(at) ?? 0) + 1)
          expect(turnsAtCall).toHaveLength(count)
          expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(CLOSES_PER_TURN)
          for (const tab of tabs) {
            expect(tab.opens).toBe(2)
            expect(tab.payloads()).toEqual([1, 4])
            expect(tab.payloads('herald.reset')).toEqual([{ reason: 'trimmed' }])
          }
        } finally {
          turns?.stop()
          SseConnection.prototype.closeWithRetry = closeWithRetry
        }
      },
    )
  })
})

describe('hub catch-up writes', () => {
  it('spreads them over turns of the event loop, WRITES_PER_TURN a turn, each entry once and in order, live ones after', {
    timeout: 60_000,
  }, async () => {
    await onRedisGateway({ MAX_CONNECTIONS_PER_USER: '1000' }, async ({ gateway, tabs }) => {
      const deliver = SseConnection.prototype.deliver
      const writesPerTurn = new Map<number, number>()
      const turnsCalled = new Set<number>()
      let turns: TurnCounter | undefined
      try {
        const token = await gateway.token('alice')
        for (let i = 0; i < 32; i++) tabs.push(new RecordingEventSource(gateway.eventsUrl(), { token }))
        await Promise.all(tabs.map((tab) => tab.waitForReady()))
        const hub = gateway.services.hub
        // The subscriber dropped: what is published now is held, and read back by the catch-up.
        hub.suspend()
        // 32 tabs × 160 entries: two and a half turns' worth.
        const sent = Array.from({ length: (5 * WRITES_PER_TURN) / 2 / tabs.length }, (_, n) => n + 1)
        const published = await gateway.publish({ messages: sent.map((data) => ({ user: 'alice', data })) })
        expect(published.status).toBe(200)
        SseConnection.prototype.deliver = function (this: SseConnection, slot, framed) {
          const wrote = deliver.call(this, slot, framed)
          if (turns !== undefined) turnsCalled.add(turns.now())
          if (wrote && turns !== undefined) writesPerTurn.set(turns.now(), (writesPerTurn.get(turns.now()) ?? 0) + 1)
          return wrote
        }
        turns = turnCounter()
        expect(await hub.resync()).toBe(0)
        expect([...writesPerTurn.values()].reduce((sum, writes) => sum + writes)).toBe(tabs.length * sent.length)
        expect(writesPerTurn.size).toBeGreaterThanOrEqual(3)
        expect(Math.max(...writesPerTurn.values())).toBeLessThanOrEqual(WRITES_PER_TURN)
        // The release after it finds every held entry written already: that takes a turn at most.
        expect(turnsCalled.size - writesPerTurn.size).toBeLessThanOrEqual(1)
        expect((await gateway.publish({ user: 'alice', data: 'live' })).status).toBe(200)
        await Promise.all(tabs.map((tab) => tab.waitForEvents(sent.length + 1)))
        for (const tab of tabs) expect(tab.payloads()).toEqual([...sent, 'live'])
      } finally {
        turns?.stop()
        SseConnection.prototype.deliver = deliver
      }
    })
  })

  /**
   * Alice's channel, met first, misses two and a half turns' worth of entries on `aliceTabs` tabs
   * while held, bob's one entry on `bobTabs`; a resync catches both up. Resolves to whose stream
   * each write went to, in order.
   */
  async function catchUpOrder(aliceTabs: number, bobTabs: number): Promise<string[]> {
    const written: string[] = []
    await onRedisGateway({ MAX_CONNECTIONS_PER_USER: '1000' }, async ({ gateway, tabs }) => {
      const deliver = SseConnection.prototype.deliver
      try {
        for (const [user, count] of [
          ['alice', aliceTabs],
          ['bob', bobTabs],
        ] as const) {
          const token = await gateway.token(user)
          for (let i = 0; i < count; i++) tabs.push(new RecordingEventSource(gateway.eventsUrl(), { token }))
          await Promise.all(tabs.map((tab) => tab.waitForReady()))
        }
        const hub = gateway.services.hub
        hub.suspend()
        const sent = Array.from({ length: (5 * WRITES_PER_TURN) / 2 / aliceTabs }, (_, n) => n + 1)
        expect((await gateway.publish({ messages: sent.map((data) => ({ user: 'alice', data })) })).status).toBe(200)
        expect((await gateway.publish({ user: 'bob', data: 'bob' })).status).toBe(200)
        SseConnection.prototype.deliver = function (this: SseConnection, slot, framed) {
          const wrote = deliver.call(this, slot, framed)
          if (wrote) written.push(this.userId)
          return wrote
        }
        expect(await hub.resync()).toBe(0)
        expect(written).toHaveLength(aliceTabs * sent.length + bobTabs)
        for (const tab of tabs.slice(aliceTabs)) {
          await tab.waitForEvents(1)
          expect(tab.payloads()).toEqual(['bob'])
        }
      } finally {
        SseConnection.prototype.deliver = deliver
      }
    })
    return written
  }

  it('catches a channel with few listeners up before one whose entries each take much of a turn, whichever came first', {
    timeout: 60_000,
  }, async () => {
    // Read in the order the node met them, bob's one write waited out all of alice's turns.
    expect((await catchUpOrder(32, 1)).indexOf('bob')).toBe(0)
  })

  it("lets a channel's catch-up write in its turn beside a long one's, not once the long one is done", {
    timeout: 60_000,
  }, async () => {
    // As many listeners each, so alice's is read first: bob's turn comes after one of hers, not
    // after all of them, as it did while the catch-up that wrote first was also first to wait.
    const written = await catchUpOrder(32, 32)
    expect(written.indexOf('bob')).toBeGreaterThan(0)
    expect(written.lastIndexOf('bob')).toBeLessThan(written.lastIndexOf('alice'))
  })

  it("stops releasing what was held at a new hold of the channel, and leaves the rest to that hold's catch-up", async () => {
    await onRedisGateway({}, async ({ gateway, tabs }) => {
      const broker = gateway.services.broker
      const readAfter = broker.readAfter
      const deliver = SseConnection.prototype.deliver
      try {
        const alice = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('alice') })
        const bob = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('bob') })
        tabs.push(alice, bob)
        await Promise.all(tabs.map((tab) => tab.waitForReady()))
        expect((await gateway.publish({ user: 'alice', data: 0 })).status).toBe(200)
        await alice.waitForEvents(1)
        const hub = gateway.services.hub
        // What reaches the hub for alice, live: held from the suspension on.
        let reachedHub = 0
        let allReached = () => {}
        const reached = new Promise<void>((resolve) => {
          allReached = resolve
        })
        const hubDeliver = hub.deliver.bind(hub)
        hub.deliver = (channelKey, entry) => {
          hubDeliver(channelKey, entry)
          if (channelKey === 'u:alice' && ++reachedHub === 3) allReached()
        }
        hub.suspend()
        // Published just after the catch-up read alice's history: the release alone writes them.
        broker.readAfter = async function (this: typeof broker, ...args) {
          const read = await readAfter.apply(this, args)
          if (args[0] === 'u:alice') {
            broker.readAfter = readAfter
            const published = await gateway.publish({ messages: [1, 2, 3].map((data) => ({ user: 'alice', data })) })
            expect(published.status).toBe(200)
            await reached
          }
          return read
        }
        // Her slot moves as the release writes her first entry.
        SseConnection.prototype.deliver = function (this: SseConnection, slot, framed) {
          const wrote = deliver.call(this, slot, framed)
          if (wrote && framed.channel.key === 'u:alice') {
            SseConnection.prototype.deliver = deliver
            hub.hold(['u:alice'])
          }
          return wrote
        }
        expect(await hub.resync()).toBe(0)
        // Announced after them: once bob has this, the hub wrote all it was going to write to alice.
        expect((await gateway.publish({ user: 'bob', data: 'marker' })).status).toBe(200)
        await bob.waitForEvents(1)
        expect(alice.payloads()).toEqual([0, 1])
        expect(await hub.resync(['u:alice'])).toBe(0)
        await alice.waitForEvents(4)
        expect((await gateway.publish({ user: 'alice', data: 4 })).status).toBe(200)
        await alice.waitForEvents(5)
        expect(alice.payloads()).toEqual([0, 1, 2, 3, 4])
      } finally {
        broker.readAfter = readAfter
        SseConnection.prototype.deliver = deliver
      }
    })
  })
})

/** One socket write to an event stream: one chunk, or several gathered, and their bytes. */
interface StreamWrite {
  readonly gathered: boolean
  readonly bytes: number
  /** The socket's mark, past which a batch goes out. */
  readonly mark: number
}

/** Records every socket write to an event stream, in this process, until `stop`. */
function recordStreamWrites(): { writes: StreamWrite[]; stop(): void } {
  const writes: StreamWrite[] = []
  type Write = (this: Socket, ...args: unknown[]) => unknown
  const prototype = Socket.prototype as unknown as Record<'_write' | '_writev', Write>
  const { _write: write, _writev: writev } = prototype
  const record = (socket: Socket, gathered: boolean, bytes: number) => {
    const message = (socket as unknown as { _httpMessage?: { req?: { url?: string } } })._httpMessage
    if (message?.req?.url?.startsWith('/v1/events'))
      writes.push({ gathered, bytes, mark: socket.writableHighWaterMark })
  }
  prototype._write = function (chunk, encoding, ...rest) {
    record(this, false, Buffer.byteLength(chunk as string, encoding as BufferEncoding))
    return write.call(this, chunk, encoding, ...rest)
  }
  prototype._writev = function (chunks, ...rest) {
    const list = chunks as Array<{ chunk: Buffer | string; encoding: BufferEncoding }>
    record(
      this,
      true,
      list.reduce((sum, { chunk, encoding }) => sum + Buffer.byteLength(chunk, encoding), 0),
    )
    return writev.call(this, chunks, ...rest)
  }
  return {
    writes,
    stop() {
      prototype._write = write
      prototype._writev = writev
    },
  }
}

describe('hub catch-up writes, batched', () => {
  /**
   * Alice's live stream misses `count` entries of `data` while her channel is held, and a resync
   * catches her up: resolves to the socket writes to event streams it made.
   */
  async function catchUpWrites(count: number, data: (n: number) => unknown): Promise<StreamWrite[]> {
    let writes: StreamWrite[] = []
    // No heartbeat can come between: the only writes to the stream are the catch-up's.
    await onRedisGateway({ HEARTBEAT_INTERVAL_MS: '300000' }, async ({ gateway, tabs }) => {
      const alice = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('alice') })
      tabs.push(alice)
      await alice.waitForReady()
      expect((await gateway.publish({ user: 'alice', data: data(0) })).status).toBe(200)
      await alice.waitForEvents(1)
      const hub = gateway.services.hub
      hub.suspend()
      const messages = Array.from({ length: count }, (_, n) => ({ user: 'alice', data: data(n + 1) }))
      expect((await gateway.publish({ messages })).status).toBe(200)
      const recording = recordStreamWrites()
      try {
        expect(await hub.resync()).toBe(0)
      } finally {
        recording.stop()
      }
      await alice.waitForEvents(count + 1)
      expect(alice.payloads()).toEqual(Array.from({ length: count + 1 }, (_, n) => data(n)))
      writes = recording.writes
    })
    return writes
  }

  it('writes what one turn of a catch-up has for a stream in one socket write, and every entry once', async () => {
    // 50 entries of about 150 bytes, under the socket's mark.
    const writes = await catchUpWrites(50, (n) => n)
    expect(writes.map(({ gathered }) => gathered)).toEqual([true])
  })

  it("sends a turn's batch on as it reaches the socket's mark, not all at its end", async () => {
    // 50 entries of over 2 KB: some 100 KB for one stream in one turn.
    const writes = await catchUpWrites(50, (n) => ({ n, padding: 'x'.repeat(2048) }))
    expect(writes.length).toBeGreaterThan(1)
    const mark = writes[0]!.mark
    // Each write stops within one entry of the mark, and there are as few as the mark allows
    // (and one more where a 64 KiB history page ends a batch), not one an entry once the first
    // has gone out.
    for (const { bytes } of writes) expect(bytes).toBeLessThan(mark + 2300)
    const total = writes.reduce((sum, { bytes }) => sum + bytes, 0)
    expect(writes.length).toBeLessThanOrEqual(Math.ceil(total / mark) + 1)
  })
})

describe('hub live delivery', () => {
  /**
   * Counts the writes a stream delivery makes in each turn of the event loop while `during` runs;
   * resolves to them, per turn.
   */
  async function writesPerTurnDuring(during: () => Promise<void>): Promise<number[]> {
    const deliver = SseConnection.prototype.deliver
    const writes = new Map<number, number>()
    const turns = turnCounter()
    SseConnection.prototype.deliver = function (this: SseConnection, slot, framed) {
      const wrote = deliver.call(this, slot, framed)
      if (wrote) writes.set(turns.now(), (writes.get(turns.now()) ?? 0) + 1)
      return wrote
    }
    try {
      await during()
    } finally {
      turns.stop()
      SseConnection.prototype.deliver = deliver
    }
    return [...writes.values()]
  }

  it('spreads what one read of the subscriber brings over turns of the event loop, WRITES_PER_TURN a turn, in order', {
    timeout: 60_000,
  }, async () => {
    await onRedisGateway({ MAX_CONNECTIONS_PER_USER: '1000' }, async ({ gateway, tabs }) => {
      const token = await gateway.token('alice')
      for (let i = 0; i < 64; i++) tabs.push(new RecordingEventSource(gateway.eventsUrl(), { token }))
      await Promise.all(tabs.map((tab) => tab.waitForReady()))
      // One publish call, so Redis announces them together: about three turns' worth of writes.
      const sent = Array.from({ length: 100 }, (_, n) => n + 1)
      const writes = await writesPerTurnDuring(async () => {
        expect((await gateway.publish({ messages: sent.map((data) => ({ user: 'alice', data })) })).status).toBe(200)
        await Promise.all(tabs.map((tab) => tab.waitForEvents(sent.length)))
      })
      // Written as they came, a turn took all of them, or half at least.
      expect(writes.reduce((sum, n) => sum + n)).toBe(tabs.length * sent.length)
      expect(Math.max(...writes)).toBeLessThanOrEqual(WRITES_PER_TURN)
      expect(writes.length).toBeGreaterThanOrEqual(4)
      for (const tab of tabs) expect(tab.payloads()).toEqual(sent)
      expect(gateway.services.hub.liveBacklogAgeMs).toBe(0)
    })
  })

  it('drops what waits past its bound and closes its streams, which resume exactly; other streams stay', {
    timeout: 60_000,
  }, async () => {
    const { logger, lines } = recordingLogger('warn')
    // Room for about 30 of these entries: the publish below brings 100, and a turn writes 32 of them.
    await onRedisGateway(
      { MAX_CONNECTIONS_PER_USER: '1000' },
      async ({ gateway, tabs }) => {
        const token = await gateway.token('alice')
        for (let i = 0; i < 64; i++) tabs.push(new RecordingEventSource(gateway.eventsUrl(), { token }))
        const bob = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('bob') })
        tabs.push(bob)
        await Promise.all(tabs.map((tab) => tab.waitForReady()))
        const alices = tabs.slice(0, 64)
        const sent = Array.from({ length: 100 }, (_, n) => n + 1)
        expect((await gateway.publish({ messages: sent.map((data) => ({ user: 'alice', data })) })).status).toBe(200)
        // Each of alice's streams was closed once and came back, to get the rest from history.
        await resumedExactly(alices, sent)
        expect((await gateway.publish({ user: 'bob', data: 'bob' })).status).toBe(200)
        await bob.waitForEvents(1)
        expect([bob.opens, bob.payloads()]).toEqual([1, ['bob']])
        const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
        expect(metrics).toContain('herald_live_backlog_drop_closes_total 64\n')
        const warned = logged(lines, /fell too far behind/)
        expect(warned).toHaveLength(1)
        expect(warned[0]).toMatchObject({ channels: 1, streams: 64, maxBytes: 4096 })
      },
      { logger, liveBacklogBounds: { maxBytes: 4096, maxAgeMs: 60_000 } },
    )
  })
})

describe('hub live delivery, entries handed to it directly', () => {
  /**
   * 64 of alice's tabs, live; `count` entries after their position, stored in her history as a
   * publish would store them but not announced, for the test to hand to the hub itself.
   */
  async function aliceWithHistory(
    gateway: TestGateway,
    redis: RedisServer,
    tabs: RecordingEventSource[],
    count: number,
  ): Promise<HistoryEntry[]> {
    const token = await gateway.token('alice')
    for (let i = 0; i < 64; i++) tabs.push(new RecordingEventSource(gateway.eventsUrl(), { token }))
    await Promise.all(tabs.map((tab) => tab.waitForReady()))
    const ms = Date.now() + 1000
    const entries = Array.from({ length: count }, (_, n) => ({
      id: `${ms}-${n + 1}`,
      type: undefined,
      data: String(n + 1),
      publishedAtMs: ms,
    }))
    for (const entry of entries) await redis.cli('XADD', streamKey('u:alice'), entry.id, 'd', entry.data, 't', '')
    return entries
  }

  /** `aliceWithHistory` on a gateway of its own, logging at `level` into `lines`. */
  async function onAlice(
    count: number,
    level: 'warn' | 'error',
    options: StartOptions,
    test: (setup: {
      hub: Hub
      tabs: RecordingEventSource[]
      entries: HistoryEntry[]
      lines: string[]
    }) => Promise<void>,
  ): Promise<void> {
    const { logger, lines } = recordingLogger(level)
    await onRedisGateway(
      { MAX_CONNECTIONS_PER_USER: '1000' },
      async ({ gateway, redis, tabs }) => {
        const entries = await aliceWithHistory(gateway, redis, tabs, count)
        await test({ hub: gateway.services.hub, tabs, entries, lines })
      },
      { ...options, logger },
    )
  }

  it('drops what has waited past its age bound and closes its streams, which resume exactly; no quiet position moves meanwhile', {
    timeout: 60_000,
  }, async () => {
    const bounds = { maxBytes: 64 * 1024 * 1024, maxAgeMs: 1 }
    await onAlice(100, 'warn', { liveBacklogBounds: bounds }, async ({ hub, tabs, entries, lines }) => {
      expect(hub.quietChannels(Number.POSITIVE_INFINITY).map((quiet) => quiet.key)).toEqual(['u:alice'])
      // A turn's worth goes out now; the rest waits for the next turns.
      for (const entry of entries.slice(0, 50)) hub.deliver('u:alice', entry)
      // A waiting entry is in no position yet: no stream may be moved past it.
      expect(hub.quietChannels(Number.POSITIVE_INFINITY)).toEqual([])
      // Past the bound by the clock, not by a timer: the next entry finds the oldest too old.
      const until = monotonicMs() + 5
      while (monotonicMs() < until) {}
      for (const entry of entries.slice(50)) hub.deliver('u:alice', entry)
      await resumedExactly(
        tabs,
        entries.map((entry) => Number(entry.data)),
      )
      const warned = logged(lines, /fell too far behind/)
      expect(warned).toHaveLength(1)
      expect(warned[0]).toMatchObject({ channels: 1, streams: 64, maxAgeMs: 1 })
      expect(warned[0].waitedMs).toBeGreaterThan(1)
    })
  })

  it('closes the streams of a channel whose fan-out failed part way, and they resume, missing nothing', {
    timeout: 60_000,
  }, async () => {
    await onAlice(3, 'error', {}, async ({ hub, tabs, entries, lines }) => {
      const deliver = SseConnection.prototype.deliver
      let calls = 0
      // The second entry's write throws at its 10th stream: a bug's stand-in.
      SseConnection.prototype.deliver = function (this: SseConnection, slot, framed) {
        if (++calls === tabs.length + 10) throw new Error('a write that throws')
        return deliver.call(this, slot, framed)
      }
      try {
        for (const entry of entries) hub.deliver('u:alice', entry)
      } finally {
        SseConnection.prototype.deliver = deliver
      }
      await resumedExactly(tabs, [1, 2, 3])
      const failed = logged(lines, /live delivery failed/)
      expect(failed).toMatchObject([{ channel: 'u:alice', err: 'a write that throws' }])
    })
  })

  it('spreads entries its streams already have over turns too, at a fraction of a write each', {
    timeout: 60_000,
  }, async () => {
    await onRedisGateway({ MAX_CONNECTIONS_PER_USER: '1000' }, async ({ gateway, redis, tabs }) => {
      const entries = await aliceWithHistory(gateway, redis, tabs, 1)
      const hub = gateway.services.hub
      hub.deliver('u:alice', entries[0]!)
      await Promise.all(tabs.map((tab) => tab.waitForEvents(1)))
      // The budget that write spent from starts afresh after the next poll for I/O: up to two
      // iterations on, when it was spent in a check phase. The 2,000 start a turn of their own
      // (an immediate queued after the budget's), or 64 writes' worth of them wait too.
      await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))
      // As after a resume storm: entries every stream has had, 2,000 of them, in one read.
      const had = Array.from({ length: 2000 }, () => entries[0]!)
      for (const entry of had) hub.deliver('u:alice', entry)
      // Each costs its 64 listeners two writes' worth: half a turn's budget in entries went out
      // now, and the rest waits. Free, all of them went out in this turn.
      expect(hub.liveBacklogEntries).toBe(had.length - WRITES_PER_TURN / 2)
      await pollUntil('the backlog drained', async () => (hub.liveBacklogEntries === 0 ? true : undefined))
      for (const tab of tabs) expect(tab.payloads()).toEqual([1])
    })
  })
})

describe('hub entries it cannot deliver', () => {
  it('logs a dropped entry with its channel, a few lines per window, however many come', async () => {
    const { logger, lines } = recordingLogger('warn')
    const gateway = await startTestGateway({}, { logger })
    try {
      const tab = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('alice') })
      await tab.waitForReady()
      // Ids past a year ahead, as a raw XADD leaves for every later publish of its stream.
      for (let n = 1; n <= 1000; n++) {
        gateway.services.hub.deliver('u:alice', {
          id: `99999999999999-${n}`,
          type: undefined,
          data: '1',
          publishedAtMs: 0,
        })
      }
      const dropped = logged(lines, /dropped a broker entry/)
      expect(dropped).toHaveLength(3)
      expect(dropped[0]).toMatchObject({ channel: 'u:alice', entryId: '99999999999999-1' })
      tab.close()
    } finally {
      await gateway.close()
    }
    // Closing reports what the window held back.
    expect(lines.map((line) => JSON.parse(line)).find((line) => line.held !== undefined)).toMatchObject({ held: 997 })
  })
})
