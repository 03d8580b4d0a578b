import { describe, expect, it } from 'vitest'
import { isTooFarAhead, MAX_ID_AHEAD_MS } from './far-ahead.js'

describe('isTooFarAhead', () => {
  it('takes ids up to a year and a day past the clock, and no further', () => {
    const now = 1_800_000_000_000
    expect(isTooFarAhead({ ms: now, seq: 0 }, now)).toBe(false)
    expect(isTooFarAhead({ ms: now + MAX_ID_AHEAD_MS, seq: 99 }, now)).toBe(false)
    expect(isTooFarAhead({ ms: now + MAX_ID_AHEAD_MS + 1, seq: 0 }, now)).toBe(true)
    expect(isTooFarAhead({ ms: 99_999_999_999_999, seq: 1 }, now)).toBe(true)
  })
})
