import { describe, expect, it } from 'vitest'
import { mapBounded } from './bounded-map.js'

/** Calls that settle when the test says, counting how many are pending at once. */
function controlledCalls() {
  const pending: Array<() => void> = []
  let inFlight = 0
  let most = 0
  const fn = (item: number) =>
    new Promise<number>((resolve) => {
      inFlight++
      most = Math.max(most, inFlight)
      pending.push(() => {
        inFlight--
        resolve(item * 10)
      })
    })
  /** Settles every pending call, then lets the continuations start the next ones. */
  const settleAll = async () => {
    for (const settle of pending.splice(0)) settle()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { fn, settleAll, pending, most: () => most }
}

describe('mapBounded', () => {
  it('keeps at most `limit` calls pending, starts the next as one settles, and answers in order', async () => {
    const calls = controlledCalls()
    const items = Array.from({ length: 10 }, (_, i) => i)
    const mapped = mapBounded(items, 3, calls.fn)
    expect(calls.pending.length).toBe(3)
    calls.pending.shift()!()
    await new Promise((resolve) => setImmediate(resolve))
    // One settled: one more started in its place, never a fourth at once.
    expect(calls.pending.length).toBe(3)
    while (calls.pending.length > 0) await calls.settleAll()
    expect(await mapped).toEqual(items.map((item) => item * 10))
    expect(calls.most()).toBe(3)
  })

  it('runs fewer items than the limit all at once, and answers none for none', async () => {
    const calls = controlledCalls()
    const mapped = mapBounded([1, 2], 128, calls.fn)
    expect(calls.pending.length).toBe(2)
    await calls.settleAll()
    expect(await mapped).toEqual([10, 20])
    expect(await mapBounded([], 4, calls.fn)).toEqual([])
  })
})
