import { parseStreamId } from '@herald/protocol'
import { pollUntil } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import { describeBrokerContract } from './broker.contract.js'
import { MemoryBroker } from './memory-broker.js'

// The contract's brokers run this much ahead of the real clock, which is how time passes for them.
let skewMs = 0
describeBrokerContract(
  'memory',
  async (options) => new MemoryBroker(options, () => Date.now() + skewMs),
  async (ms) => {
    skewMs += ms
  },
)

describe('memory broker after a restart', () => {
  const options = { historyMaxLen: 100, historyTtlSeconds: 3600, idempotencyTtlSeconds: 60 }
  const sink = { deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 }
  const publish = (broker: MemoryBroker, channelKey: string) =>
    broker.publish([{ channelKey, type: undefined, data: '1', idempotencyKey: undefined }])

  it('answers trimmed for a position an earlier process handed out, on a missing channel and on one made since', async () => {
    const earlier = new MemoryBroker(options)
    await earlier.start(sink)
    const [before] = await publish(earlier, 'u:rita')
    const position = parseStreamId(before!)!
    await earlier.close()
    // A restarted process starts its history in a later millisecond than any id the earlier one gave.
    await pollUntil('the next millisecond', async () => (Date.now() > position.ms ? true : undefined))
    const later = new MemoryBroker(options)
    await later.start(sink)
    try {
      // Within the idle TTL, but the entries after it, if any, died with the earlier process.
      expect(await later.readAfter('u:rita', position, 10)).toEqual({ outcome: 'trimmed' })
      await publish(later, 'u:rita')
      expect(await later.readAfter('u:rita', position, 10)).toEqual({ outcome: 'trimmed' })
      // What this process hands out resumes exactly.
      const tail = parseStreamId(await later.tail('u:sam'))!
      const [after] = await publish(later, 'u:sam')
      expect(await later.readAfter('u:sam', tail, 10)).toMatchObject({ outcome: 'entries', entries: [{ id: after }] })
    } finally {
      await later.close()
    }
  })
})

describe('memory broker idle expiry', () => {
  const sink = { deliver: () => {}, suspend: () => {}, hold: () => {}, resync: async () => 0 }

  it('keeps a channel through the last millisecond of its TTL and expires it on the next, with no sweep', async () => {
    let nowMs = 1_800_000_000_000
    const broker = new MemoryBroker(
      { historyMaxLen: 100, historyTtlSeconds: 60, idempotencyTtlSeconds: 60 },
      () => nowMs,
    )
    await broker.start(sink)
    try {
      const [e1] = await broker.publish([
        { channelKey: 'u:rita', type: undefined, data: '1', idempotencyKey: undefined },
      ])
      const before = { ms: nowMs, seq: 0 }
      nowMs += 60_000
      expect(await broker.readAfter('u:rita', before, 10)).toMatchObject({ outcome: 'entries', entries: [{ id: e1 }] })
      nowMs += 1
      expect(await broker.readAfter('u:rita', before, 10)).toEqual({ outcome: 'trimmed' })
    } finally {
      await broker.close()
    }
  })
})
