import { describe, expect, it } from 'vitest'
import { earliestPosition, isBehind } from './catch-up.js'

describe('isBehind', () => {
  it('is true when the tab is before the reference on some channel both name', () => {
    expect(isBehind('u00000001:100-0', 'u00000001:100-3')).toBe(true)
    expect(isBehind('u00000001:900-0,t00000002:100-0', 'u00000001:300-0,t00000002:800-0')).toBe(true)
  })

  it('is false when the tab has everything the reference has, or either cannot be read', () => {
    expect(isBehind('u00000001:100-0', 'u00000001:100-0')).toBe(false)
    expect(isBehind('u00000001:200-0', 'u00000001:100-0')).toBe(false)
    expect(isBehind('u00000001:300-0,t00000002:5-0', 'u00000001:300-0')).toBe(false)
    expect(isBehind('', 'u00000001:300-0')).toBe(false)
    expect(isBehind('u00000001:100-0', '')).toBe(false)
  })
})

describe('earliestPosition', () => {
  it('takes the earlier position channel by channel, and keeps channels only one names', () => {
    expect(earliestPosition('u00000001:100-0,t00000002:900-0', 'u00000001:300-0,t00000002:800-0')).toBe(
      'u00000001:100-0,t00000002:800-0',
    )
    expect(earliestPosition('u00000001:100-0', 'u00000001:300-0,t00000002:800-0')).toBe(
      'u00000001:100-0,t00000002:800-0',
    )
    expect(earliestPosition('t00000002:7-0', 'u00000001:300-0')).toBe('u00000001:300-0,t00000002:7-0')
  })

  it('falls back to the position it can read', () => {
    expect(earliestPosition('', 'u00000001:300-0')).toBe('u00000001:300-0')
    expect(earliestPosition('u00000001:100-0', '')).toBe('u00000001:100-0')
  })
})
