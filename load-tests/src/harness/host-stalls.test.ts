import { describe, expect, it } from 'vitest'
import { summarizeStalls } from './host-stalls.js'

describe('summarizeStalls', () => {
  it('gives the share of the probes’ time lost in pauses, their rate per probe and the longest', () => {
    const stalls = summarizeStalls(
      [
        { elapsedMs: 5_000, pausesMs: [2, 8, 0.5] },
        { elapsedMs: 5_000, pausesMs: [1.5, 3] },
      ],
      [],
    )
    expect(stalls).toMatchObject({ probes: 2, seconds: 5, lostPercent: 0.15, pausesPerSecond: 0.5, longestMs: 8 })
  })

  it('sets the other processes’ CPU beside the loss, on the same scale, and names the busiest', () => {
    const stalls = summarizeStalls(
      [{ elapsedMs: 10_000, pausesMs: [20] }],
      [
        { name: 'redis-server', ms: 10 },
        { name: 'idle', ms: 0 },
        { name: 'kdamond.0', ms: 40 },
        { name: 'beam.smp', ms: 20 },
        { name: 'mosquitto', ms: 5 },
      ],
    )
    expect(stalls.lostPercent).toBe(0.2)
    expect(stalls.otherWorkPercent).toBe(0.75)
    expect(stalls.busiestOthers).toEqual(['kdamond.0 40 ms', 'beam.smp 20 ms', 'redis-server 10 ms'])
  })

  it('is all zeros for no probes, not a division by zero', () => {
    expect(summarizeStalls([], [{ name: 'x', ms: 5 }])).toEqual({
      probes: 0,
      seconds: 0,
      lostPercent: 0,
      pausesPerSecond: 0,
      longestMs: 0,
      otherWorkPercent: 0,
      busiestOthers: ['x 5 ms'],
    })
  })
})
