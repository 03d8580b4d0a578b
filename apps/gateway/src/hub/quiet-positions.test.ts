import { parseStreamId, type StreamId } from '@herald/protocol'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { HistoryRead } from '../broker/broker.js'
import { MemoryBroker } from '../broker/memory-broker.js'
import {
  decideQuiet,
  MIN_CHECKS_PER_TICK,
  type QuietChannel,
  type QuietChannelSource,
  QuietPositions,
  quietTickMs,
} from './quiet-positions.js'

const TTL_MS = 60_000
const TICK_MS = quietTickMs(TTL_MS)
const NOW = 1_700_000_100_000
const nothing: HistoryRead = { outcome: 'entries', entries: [] }
const anEntry: HistoryRead = {
  outcome: 'entries',
  entries: [{ id: `${NOW}-1`, type: undefined, data: '{}', publishedAtMs: NOW }],
}

describe('decideQuiet', () => {
  it('moves to the tail of a channel with no history after the position', () => {
    const newest = { ms: NOW - 40_000, seq: 0 }
    const tail = { ms: NOW, seq: 0 }
    expect(decideQuiet(newest, tail, nothing, NOW, TTL_MS, TICK_MS)).toEqual({ advance: tail })
  })

  it('moves to the tail once the history that ended at the position has expired', () => {
    const newest = { ms: NOW - 61_000, seq: 3 }
    const tail = { ms: NOW, seq: 0 }
    expect(decideQuiet(newest, tail, nothing, NOW, TTL_MS, TICK_MS)).toEqual({ advance: tail })
  })

  it('waits for the history to expire while the position is its last entry', () => {
    const newest = { ms: NOW - 40_000, seq: 2 }
    expect(decideQuiet(newest, newest, undefined, NOW, TTL_MS, TICK_MS)).toEqual({ untilMs: NOW + 20_000 + 1000 })
  })

  it('does not move onto an entry on its way to the streams, and looks again next tick', () => {
    const newest = { ms: NOW - 61_000, seq: 3 }
    // A history made since it expired: its first entry is <ms>-1.
    expect(decideQuiet(newest, { ms: NOW, seq: 1 }, undefined, NOW, TTL_MS, TICK_MS)).toEqual({
      untilMs: NOW + TICK_MS,
    })
    // An entry <ms>-0, which the read from just before its millisecond finds.
    expect(decideQuiet(newest, { ms: NOW, seq: 0 }, anEntry, NOW, TTL_MS, TICK_MS)).toEqual({ untilMs: NOW + TICK_MS })
  })

  it('moves nothing on a read that cannot tell', () => {
    const newest = { ms: NOW - 40_000, seq: 5 }
    const tail = { ms: NOW, seq: 0 }
    for (const outcome of ['unknown', 'trimmed'] as const)
      expect(decideQuiet(newest, tail, { outcome }, NOW, TTL_MS, TICK_MS)).toEqual({ untilMs: NOW + TICK_MS })
  })

  it('leaves positions ahead of the tail, or a tail it cannot read, for a later look', () => {
    const newest = { ms: NOW, seq: 9 }
    expect(decideQuiet(newest, { ms: NOW - 5, seq: 0 }, undefined, NOW, TTL_MS, TICK_MS)).toEqual({
      untilMs: NOW + TTL_MS / 8,
    })
    expect(decideQuiet(newest, undefined, undefined, NOW, TTL_MS, TICK_MS)).toEqual({ untilMs: NOW + TTL_MS / 8 })
  })
})

describe('quietTickMs', () => {
  it('looks every sixteenth of the TTL, from 1 to 10 seconds', () => {
    expect(quietTickMs(60_000)).toBe(3750)
    expect(quietTickMs(604_800_000)).toBe(10_000)
    expect(quietTickMs(1000)).toBe(1000)
  })
})

describe('QuietPositions on the embedded broker', () => {
  it('checks a share of the channels that came due together each tick, not all at once', async () => {
    let now = 1_700_000_000_000
    const ttlSeconds = 600
    const broker = new MemoryBroker(
      { historyMaxLen: 10, historyTtlSeconds: ttlSeconds, idempotencyTtlSeconds: 60 },
      () => now,
    )
    await broker.start({ deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 })
    // 2,500 quiet channels whose streams all opened at once, as the hub would list them.
    const positions = new Map<string, StreamId>()
    for (let i = 0; i < 2500; i++) positions.set(`t:quiet-${i}`, { ms: now, seq: 0 })
    const moved: Array<[string, StreamId]> = []
    const source: QuietChannelSource = {
      quietChannels: (beforeMs) =>
        [...positions]
          .filter(([, position]) => position.ms < beforeMs)
          .map(([key, newest]): QuietChannel => ({ key, newest, stamp: 0 })),
      advanceQuiet: (moves) => {
        for (const { channel, tail } of moves) {
          positions.set(channel.key, tail)
          moved.push([channel.key, tail])
        }
        return moves.length
      },
    }
    const quiet = new QuietPositions(ttlSeconds, source, broker, pino({ level: 'silent' }))
    now += (ttlSeconds * 1000) / 2 + 1
    const perTick: number[] = []
    for (let tick = 0; tick < 4; tick++) {
      const before = moved.length
      await quiet.tick(now)
      perTick.push(moved.length - before)
      now += quiet.tickMs
    }
    expect(perTick).toEqual([MIN_CHECKS_PER_TICK, MIN_CHECKS_PER_TICK, 500, 0])
    // Each moved once, to its tail then: a position of the moment, within the TTL again.
    expect(new Set(moved.map(([key]) => key)).size).toBe(2500)
    for (const [, tail] of moved) expect(tail.seq).toBe(0)
    await broker.close()
  })

  it('does not move a stream onto a history made since it expired, whose first entry it has not had yet', async () => {
    let now = 1_700_000_000_000
    const broker = new MemoryBroker({ historyMaxLen: 10, historyTtlSeconds: 60, idempotencyTtlSeconds: 60 }, () => now)
    await broker.start({ deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 })
    const [last] = await broker.publish([
      { channelKey: 'u:rita', type: undefined, data: '1', idempotencyKey: undefined },
    ])
    // The history expires; a publish brings the channel back, and its entry has not reached the
    // stream yet (here it never does: the source below sees no deliveries).
    now += 61_000
    broker.sweep()
    const [comeback] = await broker.publish([
      { channelKey: 'u:rita', type: undefined, data: '2', idempotencyKey: undefined },
    ])
    const positions = new Map([['u:rita', parseStreamId(last!)!]])
    const moved: string[] = []
    const source: QuietChannelSource = {
      quietChannels: () => [...positions].map(([key, newest]) => ({ key, newest, stamp: 0 })),
      advanceQuiet: (moves) => {
        for (const { channel, tail } of moves) moved.push(`${channel.key} ${tail.ms}-${tail.seq}`)
        return moves.length
      },
    }
    const quiet = new QuietPositions(60, source, broker, pino({ level: 'silent' }))
    await quiet.tick(now)
    expect(moved).toEqual([])
    expect(comeback).toBe(`${now}-1`)
    // Once the history is gone again, with nothing on its way, the stream moves on.
    positions.set('u:rita', parseStreamId(comeback!)!)
    now += 61_000
    broker.sweep()
    await quiet.tick(now)
    expect(moved).toEqual([`u:rita ${now}-0`])
    await broker.close()
  })
})
