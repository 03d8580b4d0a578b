import { describe, expect, it } from 'vitest'
import type { HistoryRead } from '../broker/broker.js'
import { decideQuiet, quietTickMs } from './quiet-positions.js'

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
    expect(decideQuiet(newest, tail, { outcome: 'trimmed' }, NOW, TTL_MS, TICK_MS)).toEqual({ advance: tail })
  })

  it('waits for the history to expire while the position is its last entry', () => {
    const newest = { ms: NOW - 40_000, seq: 2 }
    expect(decideQuiet(newest, newest, undefined, NOW, TTL_MS, TICK_MS)).toEqual({ untilMs: NOW + 20_000 + 1000 })
  })

  it('does not move past an entry on its way to the streams, and looks again next tick', () => {
    const newest = { ms: NOW - 40_000, seq: 0 }
    const tail = { ms: NOW, seq: 1 }
    expect(decideQuiet(newest, tail, anEntry, NOW, TTL_MS, TICK_MS)).toEqual({ untilMs: NOW + TICK_MS })
  })

  it('does not move a position that belongs to no entry of the channel', () => {
    const newest = { ms: NOW - 40_000, seq: 5 }
    const tail = { ms: NOW, seq: 0 }
    expect(decideQuiet(newest, tail, { outcome: 'unknown' }, NOW, TTL_MS, TICK_MS)).toEqual({ untilMs: NOW + TICK_MS })
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
