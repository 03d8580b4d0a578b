import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { type Heartbeating, HeartbeatSweep } from './heartbeat-sweep.js'

/** A stream that counts its heartbeats and can be made to write, as SseConnection does. */
class FakeStream implements Heartbeating {
  beats = 0
  wrote = false
  heartbeatIfQuiet(): void {
    if (this.wrote) this.wrote = false
    else {
      this.beats++
      this.wrote = true
    }
  }
}

const streamsOf = (n: number) => new Set(Array.from({ length: n }, () => new FakeStream()))

describe('HeartbeatSweep', () => {
  it('spreads a pass over half the interval in even shares', () => {
    const streams = streamsOf(1000)
    const sweep = new HeartbeatSweep(15_000, streams)
    expect(sweep.tickMs).toBe(50)
    // 150 ticks a pass: 7 streams a tick, every stream visited once per pass.
    for (let tick = 0; tick < 150; tick++) sweep.tick()
    expect(new Set([...streams].map((s) => s.beats))).toEqual(new Set([1]))
  })

  it('gives a quiet stream one heartbeat per interval (two passes)', () => {
    const streams = streamsOf(100)
    const sweep = new HeartbeatSweep(1000, streams)
    const ticksPerInterval = 1000 / sweep.tickMs
    for (let tick = 0; tick < 4 * ticksPerInterval; tick++) sweep.tick()
    expect(new Set([...streams].map((s) => s.beats))).toEqual(new Set([4]))
  })

  it('gives a quiet stream one heartbeat per interval when there are fewer streams than ticks in a pass', () => {
    for (const count of [1, 3, 149]) {
      const streams = streamsOf(count)
      const sweep = new HeartbeatSweep(15_000, streams) // 150 ticks a pass
      const ticksPerInterval = 15_000 / sweep.tickMs
      for (let tick = 0; tick < 4 * ticksPerInterval; tick++) sweep.tick()
      expect(new Set([...streams].map((s) => s.beats))).toEqual(new Set([4]))
    }
  })

  it('writes nothing to a stream that keeps writing', () => {
    const streams = streamsOf(10)
    const busy = [...streams][3]!
    const sweep = new HeartbeatSweep(1000, streams)
    for (let tick = 0; tick < 100; tick++) {
      busy.wrote = true
      sweep.tick()
    }
    expect(busy.beats).toBe(0)
    expect([...streams].filter((s) => s !== busy).every((s) => s.beats === 5)).toBe(true)
  })

  it('visits streams that join mid-pass and skips those that left', () => {
    const streams = streamsOf(10)
    const sweep = new HeartbeatSweep(1000, streams) // 10 ticks a pass, 1 stream a tick
    for (let tick = 0; tick < 5; tick++) sweep.tick()
    const [first, , , , , sixth] = [...streams]
    streams.delete(sixth!)
    const late = new FakeStream()
    streams.add(late)
    for (let tick = 0; tick < 5; tick++) sweep.tick()
    expect(first!.beats).toBe(1)
    expect(sixth!.beats).toBe(0)
    expect(late.beats).toBe(1)
  })

  it('never visits a stream twice in one tick, even when it has more budget than streams left', () => {
    const streams = streamsOf(3)
    const sweep = new HeartbeatSweep(100, streams) // one tick a pass: every stream each tick
    sweep.tick()
    sweep.tick()
    expect([...streams].map((s) => s.beats)).toEqual([1, 1, 1])
    for (const stream of streams) streams.delete(stream)
    expect(() => sweep.tick()).not.toThrow()
  })
  it('follows the time that passed, so timers that fire late do not stretch the interval', () => {
    const streams = streamsOf(100)
    const sweep = new HeartbeatSweep(15_000, streams)
    // Every tick 10 % late, for 3.75 intervals of wall time: a heartbeat on the first visit, then
    // one per interval. Counting ticks instead, the last pass would not have come yet.
    const lateTickMs = sweep.tickMs * 1.1
    for (let elapsed = lateTickMs; elapsed <= 3.75 * 15_000; elapsed += lateTickMs) sweep.tick(lateTickMs)
    expect(new Set([...streams].map((s) => s.beats))).toEqual(new Set([4]))
  })
  it('makes up for at most four ticks after a stall, not the whole stall at once', () => {
    const streams = streamsOf(10_000)
    const sweep = new HeartbeatSweep(15_000, streams)
    sweep.tick(8_000)
    // A tick's share is 10,000 / 150 streams: four of them, not the 160 the stall owed.
    const visited = [...streams].filter((stream) => stream.beats > 0).length
    expect(visited).toBeLessThanOrEqual(Math.ceil((4 * 10_000) / 150))
    expect(visited).toBeGreaterThan(0)
  })

  it('lets go of the streams that left once none is left: its cursor kept the whole set alive', async () => {
    // A WeakRef and a forced collection tell whether anything still holds a stream.
    setFlagsFromString('--expose-gc')
    const collect = runInNewContext('gc') as () => void
    const { sweep, gone } = sweepLeftIdle()
    // A WeakRef's target lives until the current job ends.
    await new Promise((resolve) => setImmediate(resolve))
    collect()
    expect(gone.deref()).toBeUndefined()
    // The sweep itself lives on, as a node's does: it is what must not hold the stream.
    expect(sweep).toBeDefined()
  })
})

/**
 * A sweep mid-pass when every stream leaves (a drain, a mass disconnect) and the node stays
 * idle for a tick. Built outside the async test: a suspended async function keeps its
 * temporaries (the spread arrays) alive.
 */
function sweepLeftIdle(): { sweep: HeartbeatSweep; gone: WeakRef<FakeStream> } {
  const streams = streamsOf(1000)
  const sweep = new HeartbeatSweep(15_000, streams)
  const gone = new WeakRef([...streams].at(-1)!)
  sweep.tick()
  for (const stream of [...streams]) streams.delete(stream)
  sweep.tick()
  return { sweep, gone }
}
