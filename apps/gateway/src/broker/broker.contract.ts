/**
 * The contract every broker keeps, as a reusable suite. Each implementation's
 * test file calls {@link describeBrokerContract} with a factory, so the
 * embedded and the Redis broker are held to exactly the same behaviour.
 */

import { parseStreamId, type StreamId } from '@herald/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import type { Broker, BrokerOptions, BrokerSink, HistoryEntry } from './broker.js'

export type BrokerFactory = (options: BrokerOptions) => Promise<Broker>
/**
 * Lets `ms` pass on the broker's clock: a broker whose clock a test controls moves it, one on a
 * clock outside the test (a Redis server's) waits for it.
 */
export type Elapse = (ms: number) => Promise<void>

/**
 * A sink that does what `overrides` say (nothing, by default) and tells a test when the broker
 * resyncs: `nextResync()` resolves at the first resync after it is called.
 */
export function resyncWatchingSink(overrides: Partial<BrokerSink> = {}): {
  readonly sink: BrokerSink
  nextResync(): Promise<void>
} {
  let resynced = () => {}
  const sink: BrokerSink = {
    deliver: () => {},
    suspend: () => {},
    hold: () => {},
    ...overrides,
    resync: async () => {
      resynced()
      return 0
    },
  }
  return {
    sink,
    nextResync: () =>
      new Promise<void>((resolve) => {
        resynced = resolve
      }),
  }
}

const id = (text: string): StreamId => parseStreamId(text)!
const message = (channelKey: string, data: unknown, idempotencyKey?: string) => ({
  channelKey,
  type: 'test',
  data: JSON.stringify(data),
  idempotencyKey,
})

export function describeBrokerContract(name: string, createBroker: BrokerFactory, elapse: Elapse): void {
  describe(`broker contract: ${name}`, () => {
    let open: Broker[] = []
    const received: Array<[string, HistoryEntry]> = []
    let onReceived: (() => void) | undefined
    const waitForDeliveries = (count: number): Promise<void> =>
      new Promise((resolve) => {
        onReceived = () => {
          if (received.length >= count) resolve()
        }
        onReceived()
      })
    const start = async (options: Partial<BrokerOptions> = {}): Promise<Broker> => {
      const broker = await createBroker({
        historyMaxLen: 100,
        historyTtlSeconds: 3600,
        idempotencyTtlSeconds: 60,
        ...options,
      })
      await broker.start({
        deliver: (channel, entry) => {
          received.push([channel, entry])
          onReceived?.()
        },
        suspend: () => {},
        hold: () => {},
        resync: async () => 0,
      })
      open.push(broker)
      return broker
    }
    const unique = (prefix: string) => `${prefix}:${Math.random().toString(36).slice(2)}`

    afterEach(async () => {
      await Promise.all(open.map((b) => b.close()))
      open = []
      received.length = 0
    })

    it('publishes in order with strictly increasing ids', async () => {
      const broker = await start()
      const channel = unique('u')
      const origin = id(await broker.tail(channel))
      const ids = await broker.publish([1, 2, 3].map((n) => message(channel, n)))
      expect(ids).toHaveLength(3)
      const parsed = ids.map(id)
      expect(parsed[0]!.ms <= parsed[1]!.ms && parsed[1]!.ms <= parsed[2]!.ms).toBe(true)
      expect(new Set(ids).size).toBe(3)
      const read = await broker.readAfter(channel, origin, 10)
      expect(read.outcome === 'entries' && read.entries.map((e) => JSON.parse(e.data))).toEqual([1, 2, 3])
    })

    it('delivers live entries only for subscribed channels, until unsubscribed', async () => {
      const broker = await start()
      const [a, b] = [unique('u'), unique('t')]
      await broker.subscribe(a)
      await broker.publish([message(a, 'a1'), message(b, 'b1')])
      await waitForDeliveries(1)
      await broker.unsubscribe(a)
      await broker.publish([message(a, 'a2')])
      await broker.subscribe(b)
      await broker.publish([message(b, 'b2')])
      await waitForDeliveries(2)
      expect(received.map(([channel, entry]) => [channel, JSON.parse(entry.data)])).toEqual([
        [a, 'a1'],
        [b, 'b2'],
      ])
    })

    it('delivers every channel subscribed in one turn, and one left and joined again in that turn', async () => {
      const broker = await start()
      const channels = Array.from({ length: 40 }, (_, n) => unique(n % 2 === 0 ? 'u' : 't'))
      await Promise.all(channels.map((channel) => broker.subscribe(channel)))
      const again = channels[0]!
      await Promise.all([broker.unsubscribe(again), broker.subscribe(again)])
      await broker.publish(channels.map((channel, n) => message(channel, n)))
      await waitForDeliveries(channels.length)
      expect(received.map(([channel]) => channel).sort()).toEqual([...channels].sort())
    })

    it('reports a tail that no later entry can precede', async () => {
      const broker = await start()
      const channel = unique('u')
      const emptyTail = id(await broker.tail(channel))
      const [first] = await broker.publish([message(channel, 1)])
      const read = await broker.readAfter(channel, emptyTail, 10)
      expect(read.outcome === 'entries' && read.entries.map((e) => e.id)).toEqual([first])
      expect(await broker.tail(channel)).toBe(first)
    })

    it('reads in pages and reaches the tail exactly', async () => {
      const broker = await start()
      const channel = unique('u')
      let after = id(await broker.tail(channel))
      const ids = await broker.publish(Array.from({ length: 25 }, (_, n) => message(channel, n)))
      const seen: string[] = []
      for (;;) {
        const page = await broker.readAfter(channel, after, 10)
        if (page.outcome !== 'entries') throw new Error(page.outcome)
        seen.push(...page.entries.map((e) => e.id))
        if (page.entries.length < 10) break
        after = id(page.entries[page.entries.length - 1]!.id)
      }
      expect(seen).toEqual(ids)
    })

    it('answers trimmed for a position whose successors were trimmed away', async () => {
      const broker = await start({ historyMaxLen: 10 })
      const channel = unique('u')
      const ids = await broker.publish(Array.from({ length: 200 }, (_, n) => message(channel, n)))
      expect(await broker.readAfter(channel, id(ids[0]!), 10)).toEqual({ outcome: 'trimmed' })
      const recent = await broker.readAfter(channel, id(ids[195]!), 10)
      expect(recent.outcome === 'entries' && recent.entries.map((e) => e.id)).toEqual(ids.slice(196))
    })

    it('answers trimmed for a position older than the idle TTL, since history may have expired', async () => {
      const broker = await start()
      const channel = unique('u')
      await broker.publish([message(channel, 1)])
      expect(await broker.readAfter(channel, id('0-0'), 10)).toEqual({ outcome: 'trimmed' })
      expect(await broker.readAfter(unique('u'), id('1-0'), 10)).toEqual({ outcome: 'trimmed' })
    })

    it('expires a channel idle for longer than the TTL when it is next touched, not later', async () => {
      // 1 s is the smallest TTL the Redis functions take.
      const broker = await start({ historyTtlSeconds: 1 })
      const [resumed, written, tailed] = [unique('u'), unique('u'), unique('u')]
      const [r1, w1, t1] = await broker.publish([message(resumed, 1), message(written, 1), message(tailed, 1)])
      await elapse(1_200)
      // The entries after the position are gone: a resume must say so, not replay nothing.
      expect(await broker.readAfter(resumed, id(r1!), 10)).toEqual({ outcome: 'trimmed' })
      // A publish starts a fresh history, in which everything older than the TTL counts as deleted.
      const [w2] = await broker.publish([message(written, 2)])
      expect(await broker.readAfter(written, id(w1!), 10)).toEqual({ outcome: 'trimmed' })
      expect(await broker.readAfter(written, id(w2!), 10)).toEqual({ outcome: 'entries', entries: [] })
      // The tail is that of a channel with no history, and resumes exactly.
      const tail = id(await broker.tail(tailed))
      expect(tail.ms).toBeGreaterThanOrEqual(id(t1!).ms + 1_200)
      const [t2] = await broker.publish([message(tailed, 2)])
      const read = await broker.readAfter(tailed, tail, 10)
      expect(read.outcome === 'entries' && read.entries.map((e) => e.id)).toEqual([t2])
    })

    it('answers unknown for a position ahead of the channel', async () => {
      const broker = await start()
      const channel = unique('u')
      const [only] = await broker.publish([message(channel, 1)])
      const ahead = { ms: id(only!).ms + 60_000, seq: 0 }
      expect(await broker.readAfter(channel, ahead, 10)).toEqual({ outcome: 'unknown' })
      expect(await broker.readAfter(unique('u'), { ms: Date.now() + 3_600_000, seq: 0 }, 10)).toEqual({
        outcome: 'unknown',
      })
    })

    it('tells a <ms>-0 tail of no history from one of a history, by a read from just before its millisecond', async () => {
      // What the quiet-position check relies on (hub/quiet-positions.ts): nothing there while the
      // channel has no history; the first entry of a history made since the tail was read; and an
      // entry that is the tail itself.
      const broker = await start()
      const channel = unique('u')
      // Past the millisecond the broker's history began in: a position from before it is trimmed.
      await elapse(5)
      const tail = id(await broker.tail(channel))
      expect(tail.seq).toBe(0)
      const justBefore = (position: StreamId) => ({ ms: position.ms - 1, seq: 0 })
      const idsAfter = async (position: StreamId) => {
        const read = await broker.readAfter(channel, position, 1)
        return read.outcome === 'entries' ? read.entries.map((entry) => entry.id) : read.outcome
      }
      expect(await idsAfter(justBefore(tail))).toEqual([])
      const [first] = await broker.publish([message(channel, 1)])
      expect(await idsAfter(justBefore(tail))).toEqual([first])
      await elapse(5)
      // The next millisecond's first entry ends in -0, as a tail of no history does.
      const [second] = await broker.publish([message(channel, 2)])
      const last = id(await broker.tail(channel))
      expect([second, last.seq]).toEqual([`${last.ms}-0`, 0])
      // Between two entries without being one: not "nothing there", so no move either.
      expect(await idsAfter(justBefore(last))).toEqual('unknown')
      expect(await idsAfter(id(first!))).toEqual([second])
    })

    it('answers unknown for a position between two entries that is neither, and reads on from an entry', async () => {
      const broker = await start()
      const channel = unique('u')
      const [first, second, third] = await broker.publish([
        message(channel, 1),
        message(channel, 2),
        message(channel, 3),
      ])
      await elapse(5)
      const [fourth] = await broker.publish([message(channel, 4)])
      // What a client of a demoted master could hold: an id its new history never had.
      const between = { ms: id(fourth!).ms - 1, seq: 7 }
      expect(id(third!).ms).toBeLessThan(between.ms)
      expect(await broker.readAfter(channel, between, 10)).toEqual({ outcome: 'unknown' })
      expect(await broker.readAfter(channel, { ...id(first!), seq: id(first!).seq + 1000 }, 10)).toEqual({
        outcome: 'unknown',
      })
      const idsAfter = async (position: string, limit: number) => {
        const read = await broker.readAfter(channel, id(position), limit)
        return read.outcome === 'entries' ? read.entries.map((entry) => entry.id) : read.outcome
      }
      expect(await idsAfter(first!, 10)).toEqual([second, third, fourth])
      expect(await idsAfter(first!, 2)).toEqual([second, third])
      expect(await idsAfter(third!, 1)).toEqual([fourth])
      expect(await idsAfter(fourth!, 10)).toEqual([])
    })

    it("answers unknown for an entry's position before the channel's first entry or on a channel with no history, and reads on from a tail", async () => {
      const broker = await start()
      const [channel, empty] = [unique('u'), unique('u')]
      const tailBefore = id(await broker.tail(channel))
      await elapse(5)
      const [first, second] = await broker.publish([message(channel, 1), message(channel, 2)])
      // What a client of a demoted master holds when the stream it saw created there was lost,
      // and a retried publish created it again here: the first id of a history this one never had.
      const lost = { ms: id(first!).ms - 3, seq: 1 }
      expect(lost.ms).toBeGreaterThanOrEqual(tailBefore.ms)
      expect(await broker.readAfter(channel, lost, 10)).toEqual({ outcome: 'unknown' })
      const emptyTail = id(await broker.tail(empty))
      expect(emptyTail.seq).toBe(0)
      expect(await broker.readAfter(empty, { ...emptyTail, seq: 1 }, 10)).toEqual({ outcome: 'unknown' })
      expect(await broker.readAfter(empty, emptyTail, 10)).toEqual({ outcome: 'entries', entries: [] })
      // A tail handed out before the channel existed is <ms>-0, and reads on exactly.
      const read = await broker.readAfter(channel, tailBefore, 10)
      expect(read.outcome === 'entries' && read.entries.map((entry) => entry.id)).toEqual([first, second])
      const alsoTail = await broker.readAfter(channel, { ms: lost.ms, seq: 0 }, 10)
      expect(alsoTail.outcome === 'entries' && alsoTail.entries.map((entry) => entry.id)).toEqual([first, second])
    })

    it('reads on exactly from the newest deleted entry, whatever its sequence: nothing after it is gone', async () => {
      // Trimmed back to 2 past 3: the fourth message trims the first two, the second the newest
      // deleted. Of one batch, it has a sequence above 0 (unless the clock ticked in between).
      const broker = await start({ historyMaxLen: 2 })
      const channel = unique('u')
      const ids = await broker.publish([1, 2, 3, 4].map((n) => message(channel, n)))
      const read = await broker.readAfter(channel, id(ids[1]!), 10)
      expect(read.outcome === 'entries' && read.entries.map((entry) => entry.id)).toEqual(ids.slice(2))
      expect(await broker.readAfter(channel, id(ids[0]!), 10)).toEqual({ outcome: 'trimmed' })
    })

    it('stops a page before the entry that takes its data past maxBytes, in bytes of UTF-8, never before the first', async () => {
      const broker = await start()
      const channel = unique('u')
      const origin = id(await broker.tail(channel))
      // 10 bytes of JSON each: "é" is two bytes of UTF-8, one UTF-16 unit.
      const data = ['"aaaaaaaa"', '"éééé"', '"cccccccc"', '"dddddddd"']
      const ids = await broker.publish(data.map((text) => ({ ...message(channel, 0), data: text })))
      const page = async (after: StreamId, limit: number, maxBytes?: number) => {
        const read = await broker.readAfter(channel, after, limit, maxBytes)
        if (read.outcome !== 'entries') return read.outcome
        return { ids: read.entries.map((entry) => entry.id), truncated: read.truncated ?? false }
      }
      expect(await page(origin, 10, 25)).toEqual({ ids: ids.slice(0, 2), truncated: true })
      expect(await page(origin, 10, 20)).toEqual({ ids: ids.slice(0, 2), truncated: true })
      expect(await page(origin, 10, 19)).toEqual({ ids: ids.slice(0, 1), truncated: true })
      expect(await page(origin, 10, 1)).toEqual({ ids: ids.slice(0, 1), truncated: true })
      expect(await page(id(ids[1]!), 10, 20)).toEqual({ ids: ids.slice(2), truncated: false })
      expect(await page(origin, 3, 30)).toEqual({ ids: ids.slice(0, 3), truncated: false })
      expect(await page(origin, 10)).toEqual({ ids, truncated: false })
    })

    it('returns the first id for a repeated idempotency key and appends nothing', async () => {
      const broker = await start()
      const channel = unique('u')
      const origin = id(await broker.tail(channel))
      const [first] = await broker.publish([message(channel, 'once', 'k1')])
      const [again, other] = await broker.publish([message(channel, 'twice', 'k1'), message(channel, 'new', 'k2')])
      expect(again).toBe(first)
      expect(other).not.toBe(first)
      const read = await broker.readAfter(channel, origin, 10)
      expect(read.outcome === 'entries' && read.entries.map((e) => JSON.parse(e.data))).toEqual(['once', 'new'])
    })

    it('keeps an idempotency key per channel, the first id for a repeat within one call, until its TTL', async () => {
      // 1 s is the smallest TTL the Redis functions take.
      const broker = await start({ idempotencyTtlSeconds: 1 })
      const [user, topic] = [unique('u'), unique('t')]
      const [origin, topicOrigin] = [id(await broker.tail(user)), id(await broker.tail(topic))]
      // Ids are per channel, so the topic's entry shows itself by its data, not its id.
      const [first, repeat] = await broker.publish([
        message(user, 'once', 'k'),
        message(user, 'again', 'k'),
        message(topic, 'there', 'k'),
      ])
      expect(repeat).toBe(first)
      await elapse(1_200)
      const [afterTtl] = await broker.publish([message(user, 'later', 'k')])
      expect(afterTtl).not.toBe(first)
      const data = async (channel: string, after: StreamId) => {
        const read = await broker.readAfter(channel, after, 10)
        return read.outcome === 'entries' ? read.entries.map((entry) => JSON.parse(entry.data)) : read.outcome
      }
      expect(await data(user, origin)).toEqual(['once', 'later'])
      expect(await data(topic, topicOrigin)).toEqual(['there'])
    })

    it('keeps up to an eighth more than historyMaxLen, and trims back to it past that', async () => {
      // 8 entries and a slack of 1: the ninth is kept, the tenth trims the two oldest.
      const broker = await start({ historyMaxLen: 8 })
      const channel = unique('u')
      const origin = id(await broker.tail(channel))
      const ids: string[] = []
      for (let n = 0; n < 9; n++) ids.push(...(await broker.publish([message(channel, n)])))
      const kept = await broker.readAfter(channel, origin, 20)
      expect(kept.outcome === 'entries' && kept.entries.map((entry) => entry.id)).toEqual(ids)
      ids.push(...(await broker.publish([message(channel, 9)])))
      expect(await broker.readAfter(channel, origin, 20)).toEqual({ outcome: 'trimmed' })
      expect(await broker.readAfter(channel, id(ids[0]!), 20)).toEqual({ outcome: 'trimmed' })
      const rest = await broker.readAfter(channel, id(ids[1]!), 20)
      expect(rest.outcome === 'entries' && rest.entries.map((entry) => entry.id)).toEqual(ids.slice(2))
    })

    it('keeps type and data byte for byte', async () => {
      const broker = await start()
      const channel = unique('t')
      const origin = id(await broker.tail(channel))
      const data = JSON.stringify({
        text: 'line\r\nbreak',
        emoji: '🔔',
        nested: [null, 1.5, { a: '\u2028' }],
      })
      await broker.publish([{ channelKey: channel, type: 'invoice.paid', data, idempotencyKey: undefined }])
      await broker.publish([{ channelKey: channel, type: undefined, data: '"plain"', idempotencyKey: undefined }])
      const read = await broker.readAfter(channel, origin, 10)
      expect(read.outcome === 'entries' && read.entries.map((e) => [e.type, e.data])).toEqual([
        ['invoice.paid', data],
        [undefined, '"plain"'],
      ])
    })
  })
}
