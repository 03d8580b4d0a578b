import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareStreamIds, formatStreamId, isAfter, nextStreamId, parseStreamId, STREAM_START } from './stream-id.js'

describe('stream ids', () => {
  it('round-trips every valid id through format and parse', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (ms, seq) => {
        expect(parseStreamId(formatStreamId({ ms, seq }))).toEqual({ ms, seq })
      }),
    )
  })

  it('rejects malformed ids', () => {
    for (const text of [
      '',
      '-',
      '1',
      '1-',
      '-1',
      '1-2-3',
      'a-1',
      '1-b',
      ' 1-2',
      '1-2 ',
      '1.5-2',
      '99999999999999999-1',
      '9999999999999999-1',
      '1-9007199254740992',
      '1--2',
      '١-2',
    ]) {
      expect(parseStreamId(text), text).toBeUndefined()
    }
  })

  it('takes the largest safe parts and leading zeros, as the regular expression it replaced did', () => {
    expect(parseStreamId('9007199254740991-0')).toEqual({ ms: Number.MAX_SAFE_INTEGER, seq: 0 })
    expect(parseStreamId('0001-0002')).toEqual({ ms: 1, seq: 2 })
  })

  it('orders by time, then by sequence', () => {
    expect(compareStreamIds({ ms: 1, seq: 9 }, { ms: 2, seq: 0 })).toBeLessThan(0)
    expect(compareStreamIds({ ms: 2, seq: 1 }, { ms: 2, seq: 0 })).toBeGreaterThan(0)
    expect(compareStreamIds({ ms: 2, seq: 1 }, { ms: 2, seq: 1 })).toBe(0)
    expect(isAfter({ ms: 2, seq: 1 }, { ms: 2, seq: 0 })).toBe(true)
    expect(isAfter({ ms: 2, seq: 0 }, { ms: 2, seq: 0 })).toBe(false)
  })

  it('mints strictly increasing ids even when the clock goes backwards', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 50 }), (clock) => {
        let last = STREAM_START
        for (const now of clock) {
          const next = nextStreamId(last, now)
          expect(isAfter(next, last)).toBe(true)
          last = next
        }
      }),
    )
  })
})
