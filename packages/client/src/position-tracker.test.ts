import { describe, expect, it } from 'vitest'
import { PositionTracker } from './position-tracker.js'

describe('PositionTracker', () => {
  it('accepts each event once, however often it is replayed', () => {
    const tracker = new PositionTracker()
    const ids = ['u00000001:100-0', 'u00000001:100-1', 'u00000001:200-0']
    expect(ids.map((id) => tracker.advance(id))).toEqual([true, true, true])
    expect(ids.map((id) => tracker.advance(id))).toEqual([false, false, false])
    expect(tracker.advance('u00000001:300-0')).toBe(true)
  })

  it('treats an event as new when it advances any of several channels', () => {
    const tracker = new PositionTracker()
    expect(tracker.advance('u00000001:100-0,t00000002:0-0')).toBe(true)
    expect(tracker.advance('u00000001:100-0,t00000002:150-0')).toBe(true)
    // A replay from an older position carries older positions for the other channel.
    expect(tracker.advance('u00000001:0-0,t00000002:150-0')).toBe(false)
    expect(tracker.advance('u00000001:100-0,t00000002:160-0')).toBe(true)
  })

  it('starts again from the reset position, so lower ids after a reset are delivered', () => {
    const tracker = new PositionTracker()
    tracker.advance('u00000001:900-0')
    tracker.reset('u00000001:5-0')
    expect(tracker.advance('u00000001:5-0')).toBe(false)
    expect(tracker.advance('u00000001:6-0')).toBe(true)
  })

  it('delivers events whose id it cannot read', () => {
    const tracker = new PositionTracker()
    expect(tracker.advance('not a token')).toBe(true)
    expect(tracker.advance('not a token')).toBe(true)
  })
})
