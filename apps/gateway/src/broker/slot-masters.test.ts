import { describe, expect, it } from 'vitest'
import { anySlotMoved, slotMasters } from './slot-masters.js'

describe('slotMasters', () => {
  it('takes the master, listed first, of each slot, and leaves unassigned slots undefined', () => {
    const masters = slotMasters([['a:1', 'r:1'], undefined, ['b:2']])
    expect(masters).toEqual(['a:1', undefined, 'b:2'])
  })
})

describe('anySlotMoved', () => {
  const before = slotMasters([['a:1'], ['a:1'], ['b:2']])

  it('is true when a slot in use changed master', () => {
    const after = slotMasters([['a:1'], ['c:3'], ['b:2']])
    expect(anySlotMoved(before, after, [1])).toBe(true)
  })

  it('ignores slots no channel uses', () => {
    const after = slotMasters([['a:1'], ['c:3'], ['b:2']])
    expect(anySlotMoved(before, after, [0, 2])).toBe(false)
  })

  it('counts a slot that lost its master, or gained one, as moved', () => {
    expect(anySlotMoved(before, slotMasters([undefined, ['a:1'], ['b:2']]), [0])).toBe(true)
    expect(anySlotMoved(slotMasters([undefined]), slotMasters([['a:1']]), [0])).toBe(true)
  })

  it('is false when nothing changed', () => {
    expect(anySlotMoved(before, slotMasters([['a:1'], ['a:1'], ['b:2']]), [0, 1, 2])).toBe(false)
  })
})
