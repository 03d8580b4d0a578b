import { describe, expect, it } from 'vitest'
import { assignHeartbeatSlice, HEARTBEAT_SLICES, sliceForTick } from './heartbeat-slices.js'

describe('heartbeat slices', () => {
  it('gives every stream exactly one heartbeat per interval, whatever its slice', () => {
    const streams = Array.from({ length: 1000 }, () => assignHeartbeatSlice())
    const beats = new Array<number>(streams.length).fill(0)
    for (let tick = 0; tick < HEARTBEAT_SLICES; tick++) {
      streams.forEach((slice, i) => {
        if (slice === sliceForTick(tick)) beats[i]!++
      })
    }
    expect(new Set(beats)).toEqual(new Set([1]))
  })

  it('keeps the slices even', () => {
    const counts = new Array<number>(HEARTBEAT_SLICES).fill(0)
    for (let i = 0; i < 10 * HEARTBEAT_SLICES; i++) counts[assignHeartbeatSlice()]!++
    expect(new Set(counts)).toEqual(new Set([10]))
  })
})
