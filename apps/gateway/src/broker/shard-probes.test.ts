import { calculateSlot, pubsubChannel } from '@herald/publisher/internal'
import { describe, expect, it } from 'vitest'
import { isProbeChannel, ProbeLedger, probeChannel, shardProbeChannels } from './shard-probes.js'

/** A slots map of three masters owning equal ranges, as ioredis's `Cluster.slots` holds it. */
function threeMasters(names: readonly string[]): string[][] {
  return Array.from({ length: 16384 }, (_, slot) => [names[Math.floor((slot * 3) / 16384)]!, 'replica'])
}

describe('isProbeChannel', () => {
  it('tells probe channels from user and topic channels, whatever the names', () => {
    expect(isProbeChannel(probeChannel('a1b2'))).toBe(true)
    expect(isProbeChannel(probeChannel('a1b2', '7'))).toBe(true)
    for (const key of ['u:alice', 't:news', 'u:probe:x', 't:probe:'])
      expect(isProbeChannel(pubsubChannel(key)), key).toBe(false)
  })
})

describe('shardProbeChannels', () => {
  it('gives each master one channel hashed into its slots', () => {
    const slots = threeMasters(['a:1', 'b:2', 'c:3'])
    const channels = shardProbeChannels('f00d', slots)
    expect(channels.map((channel) => slots[calculateSlot(channel)]![0]).sort()).toEqual(['a:1', 'b:2', 'c:3'])
  })

  it('keeps the same channels when a failover renames the masters of the same ranges', () => {
    const before = shardProbeChannels('f00d', threeMasters(['a:1', 'b:2', 'c:3']))
    expect(shardProbeChannels('f00d', threeMasters(['a:1', 'x:9', 'c:3']))).toEqual(before)
  })

  it('gives no channel before the slots map is known', () => {
    expect(shardProbeChannels('f00d', [])).toEqual([])
  })
})

describe('ProbeLedger', () => {
  const noLatency = () => {}

  it('goes stale when nothing arrives, and fresh again on a delivery', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p'], 0)
    // A probe every 100 ms, and none arrives.
    for (const at of [0, 100, 200]) ledger.message(at)
    expect(ledger.stale(299)).toEqual([])
    expect(ledger.stale(300)).toEqual(['p'])
    ledger.delivered('p', ledger.message(300), 310, noLatency)
    expect(ledger.stale(310)).toEqual([])
  })

  it('counts a probe lost once Redis acknowledged it and it has not arrived for the limit', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p'], 0)
    const message = ledger.message(100)
    ledger.acknowledged('p', message)
    for (const at of [200, 300]) ledger.message(at)
    expect(ledger.lost(599)).toEqual([])
    expect(ledger.lost(600)).toEqual(['p'])
    ledger.delivered('p', message, 601, noLatency)
    expect(ledger.lost(601)).toEqual([])
  })

  it('does not count a probe lost that arrived before its acknowledgement', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p'], 0)
    const message = ledger.message(100)
    ledger.delivered('p', message, 101, noLatency)
    ledger.acknowledged('p', message)
    expect(ledger.lost(10_000)).toEqual([])
  })

  it('tells whether Redis acknowledged a recent probe on every shard', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p', 'q'], 0)
    const message = ledger.message(100)
    ledger.acknowledged('p', message)
    expect(ledger.acknowledgedSince(100)).toBe(false)
    ledger.acknowledged('q', message)
    expect(ledger.acknowledgedSince(100)).toBe(true)
    expect(ledger.acknowledgedSince(101)).toBe(false)
  })

  it('reports the round trip of each delivered probe', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p', 'q'], 0)
    const seconds: number[] = []
    const message = ledger.message(1000)
    ledger.delivered('q', message, 1004, (s) => seconds.push(s))
    expect(ledger.delivered('not-a-probe', message, 1005, (s) => seconds.push(s))).toBe(false)
    expect(seconds).toEqual([0.004])
  })

  it('keeps the state of channels still tracked and forgets a restart-old loss', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p'], 0)
    ledger.acknowledged('p', ledger.message(0))
    for (const at of [100, 200]) ledger.message(at)
    ledger.track(['p', 'q'], 400)
    expect(ledger.stale(400)).toEqual(['p'])
    expect(ledger.lost(500)).toEqual(['p'])
    ledger.restart(500)
    expect(ledger.stale(500)).toEqual([])
    expect(ledger.lost(5000)).toEqual([])
  })

  it('forgets what did not arrive, so a loss must show again, and keeps staleness', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p'], 0)
    const early = ledger.message(0)
    ledger.acknowledged('p', early)
    for (const at of [100, 200]) ledger.message(at)
    ledger.forgetUndelivered()
    expect(ledger.lost(5000)).toEqual([])
    expect(ledger.stale(400)).toEqual(['p'])
    // A publish from before the forgetting, acknowledged after it, does not count either.
    ledger.acknowledged('p', early)
    expect(ledger.lost(5000)).toEqual([])
    ledger.acknowledged('p', ledger.message(1000))
    for (const at of [1100, 1200]) ledger.message(at)
    expect(ledger.lost(1499)).toEqual([])
    expect(ledger.lost(1500)).toEqual(['p'])
  })

  it('judges no probe while this process sent too few to tell: a pause of its own is not Redis stopping', () => {
    const ledger = new ProbeLedger(300, 500)
    ledger.track(['p'], 0)
    ledger.delivered('p', ledger.message(0), 1, noLatency)
    const inFlight = ledger.message(100)
    ledger.acknowledged('p', inFlight)
    // The process stood still from 100 to 5,000 ms; its first tick after sends one more probe.
    ledger.message(5000)
    expect(ledger.stale(5000)).toEqual([])
    expect(ledger.lost(5000)).toEqual([])
    // An interval of running later, a third went out and none arrived: now they are judged.
    ledger.message(5100)
    expect(ledger.stale(5100)).toEqual(['p'])
    expect(ledger.lost(5100)).toEqual(['p'])
    // Whereas had they arrived, nothing would be.
    ledger.delivered('p', inFlight, 5101, noLatency)
    expect(ledger.stale(5101)).toEqual([])
    expect(ledger.lost(5101)).toEqual([])
  })

  it('tells when the probe that delivered longest ago last delivered', () => {
    const ledger = new ProbeLedger(300, 500)
    expect(ledger.everyDeliveredAtMs()).toBe(Number.NEGATIVE_INFINITY)
    ledger.track(['p', 'q'], 100)
    ledger.delivered('p', ledger.message(150), 200, noLatency)
    expect(ledger.everyDeliveredAtMs()).toBe(100)
    ledger.delivered('q', ledger.message(250), 300, noLatency)
    expect(ledger.everyDeliveredAtMs()).toBe(200)
  })
})
