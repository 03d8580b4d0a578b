import { describe, expect, it } from 'vitest'
import { SlicedCloser } from './sliced-closer.js'

/** Resolves after `turns` turns of the event loop. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

const fail = (error: unknown) => {
  throw error
}

describe('SlicedCloser', () => {
  it('closes at most a slice per turn of the event loop, every item once, in order', async () => {
    let turn = 0
    const closed: Array<[item: number, turn: number]> = []
    const closer = new SlicedCloser<number>((item) => closed.push([item, turn]), fail, 100)
    for (let item = 0; item < 250; item++) closer.add(item)
    // Nothing within the turn that queued them.
    expect(closed).toEqual([])
    expect(closer.pending).toBe(250)
    while (closer.pending > 0) {
      await turns(1)
      turn++
    }
    expect(closed.map(([item]) => item)).toEqual(Array.from({ length: 250 }, (_, item) => item))
    const perTurn = new Map<number, number>()
    for (const [, at] of closed) perTurn.set(at, (perTurn.get(at) ?? 0) + 1)
    expect([...perTurn.values()]).toEqual([100, 100, 50])
  })

  it('closes what is queued while a slice runs, and starts again after running dry', async () => {
    const closed: string[] = []
    const closer = new SlicedCloser<string>(
      (item) => {
        closed.push(item)
        if (item === 'a') closer.add('queued by a close')
      },
      fail,
      1,
    )
    closer.add('a')
    closer.add('b')
    await turns(4)
    expect(closed).toEqual(['a', 'b', 'queued by a close'])
    expect(closer.pending).toBe(0)
    closer.add('after')
    await turns(2)
    expect(closed.at(-1)).toBe('after')
  })

  it('goes on closing the rest when one close throws, and reports the error', async () => {
    const closed: number[] = []
    const errors: unknown[] = []
    const closer = new SlicedCloser<number>(
      (item) => {
        if (item === 1) throw new Error('close 1 failed')
        closed.push(item)
      },
      (error) => errors.push(error),
      2,
    )
    for (const item of [0, 1, 2, 3]) closer.add(item)
    await turns(3)
    expect(closed).toEqual([0, 2, 3])
    expect(errors.map((error) => (error as Error).message)).toEqual(['close 1 failed'])
    closer.add(4)
    await turns(1)
    expect(closed.at(-1)).toBe(4)
  })
})
