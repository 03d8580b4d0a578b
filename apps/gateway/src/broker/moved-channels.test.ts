import { describe, expect, it } from 'vitest'
import { MovedChannels } from './moved-channels.js'

/**
 * Steps that record what was asked (the undoing of unwanted subscriptions apart), and fail to
 * subscribe while `refuse` is set.
 */
function recordingSteps(wanted: (key: string) => boolean = () => true) {
  const calls: string[] = []
  const drops: string[][] = []
  const steps = {
    refuse: false,
    subscribe: async (keys: readonly string[]) => {
      calls.push(`subscribe ${keys.join(',')}`)
      if (steps.refuse) throw new Error('MOVED')
    },
    dropUnwanted: (keys: readonly string[]) => {
      drops.push([...keys])
    },
    resync: async (keys: readonly string[]) => {
      calls.push(`resync ${keys.join(',')}`)
    },
    wanted,
  }
  return { steps, calls, drops }
}

describe('MovedChannels', () => {
  it('subscribes the moved channels before it catches them up, and forgets them once done', async () => {
    const { steps, calls } = recordingSteps()
    const moved = new MovedChannels(steps)
    moved.add(['a', 'b'], 1000)
    expect(moved.heldForMs(1500)).toBe(500)
    expect(await moved.catchUp()).toEqual({ caughtUp: 2 })
    expect(calls).toEqual(['subscribe a,b', 'resync a,b'])
    expect(moved.heldForMs(9000)).toBe(0)
  })

  it('takes channels moved during a catch-up in the next round of the same catch-up', async () => {
    const { steps, calls } = recordingSteps()
    const moved = new MovedChannels({
      ...steps,
      resync: async (keys) => {
        await steps.resync(keys)
        if (keys.includes('a')) moved.add(['c'], 2000)
      },
    })
    moved.add(['a'], 1000)
    await moved.catchUp()
    expect(calls).toEqual(['subscribe a', 'resync a', 'subscribe c', 'resync c'])
  })

  it('keeps the channels of a failed subscribe, held since first moved, for the next try', async () => {
    const { steps, calls } = recordingSteps()
    const moved = new MovedChannels(steps)
    moved.add(['a'], 1000)
    steps.refuse = true
    expect((await moved.catchUp()).failed?.message).toBe('MOVED')
    expect(moved.heldForMs(7000)).toBe(6000)
    steps.refuse = false
    expect(await moved.catchUp()).toEqual({ caughtUp: 1 })
    expect(calls).toEqual(['subscribe a', 'subscribe a', 'resync a'])
  })

  it('asks for a retry only after a failed round, never while one runs or once it succeeded', async () => {
    const { steps, calls } = recordingSteps()
    let subscribed: () => void = () => {}
    const moved = new MovedChannels({
      ...steps,
      subscribe: async (keys) => {
        if (!steps.refuse) await new Promise<void>((resolve) => (subscribed = resolve))
        return steps.subscribe(keys)
      },
    })
    moved.add(['a'], 1000)
    // Held, but the readiness after the slots change has not come yet: nothing failed.
    expect(moved.retryDue()).toBe(false)
    steps.refuse = true
    await moved.catchUp()
    expect(moved.retryDue()).toBe(true)
    steps.refuse = false
    const retry = moved.catchUp()
    expect(moved.retryDue()).toBe(false)
    subscribed()
    expect(await retry).toEqual({ caughtUp: 1 })
    expect(moved.retryDue()).toBe(false)
    expect(calls).toEqual(['subscribe a', 'subscribe a', 'resync a'])
    steps.refuse = true
    moved.add(['b'], 2000)
    await moved.catchUp()
    moved.clear()
    expect(moved.retryDue()).toBe(false)
  })

  it('runs one catch-up at a time, and skips channels no stream wants any more', async () => {
    const { steps, calls } = recordingSteps((key) => key !== 'gone')
    const moved = new MovedChannels(steps)
    moved.add(['a', 'gone'], 1000)
    const first = moved.catchUp()
    expect(await moved.catchUp()).toEqual({ caughtUp: 0 })
    expect(await first).toEqual({ caughtUp: 1 })
    expect(calls).toEqual(['subscribe a', 'resync a'])
  })

  it('after each subscribe, answered or failed, has what nobody wants by then undone', async () => {
    const { steps, calls, drops } = recordingSteps()
    let answered: () => void = () => {}
    const moved = new MovedChannels({
      ...steps,
      subscribe: (keys) => {
        if (steps.refuse) return steps.subscribe(keys)
        calls.push(`subscribe ${keys.join(',')}`)
        return new Promise<void>((resolve) => {
          answered = resolve
        })
      },
    })
    moved.add(['a', 'b'], 1000)
    steps.refuse = true
    await moved.catchUp()
    expect(drops).toEqual([['a', 'b']])
    steps.refuse = false
    const round = moved.catchUp()
    await Promise.resolve()
    // Not while the subscribe is in flight: a stream that leaves meanwhile sends its own
    // SUNSUBSCRIBE, which a MOVED can put ahead of the SSUBSCRIBE; this one comes after both.
    expect(drops).toEqual([['a', 'b']])
    answered()
    expect(await round).toEqual({ caughtUp: 2 })
    expect(drops).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ])
    expect(calls).toEqual(['subscribe a,b', 'subscribe a,b', 'resync a,b'])
  })

  it('forgets everything on clear, for a full resync', () => {
    const moved = new MovedChannels(recordingSteps().steps)
    moved.add(['a'], 1000)
    moved.clear()
    expect(moved.heldForMs(5000)).toBe(0)
  })

  it('counts the time held while a round runs, so a round that never settles still escalates', async () => {
    const { steps } = recordingSteps()
    const moved = new MovedChannels({ ...steps, subscribe: () => new Promise<void>(() => {}) })
    moved.add(['a'], 1000)
    void moved.catchUp()
    expect(moved.heldForMs(30_000)).toBe(29_000)
  })

  it('stops a round that a full resubscribe overtook: no resync releases its channels early', async () => {
    const { steps, calls } = recordingSteps()
    let subscribed: () => void = () => {}
    const moved = new MovedChannels({
      ...steps,
      subscribe: (keys) => {
        calls.push(`subscribe ${keys.join(',')}`)
        return new Promise<void>((resolve) => {
          subscribed = resolve
        })
      },
    })
    moved.add(['a'], 1000)
    const round = moved.catchUp()
    moved.clear()
    subscribed()
    expect(await round).toEqual({ caughtUp: 0 })
    expect(calls).toEqual(['subscribe a'])
  })

  it('does not put back the channels of a round that failed after a clear', async () => {
    const { steps } = recordingSteps()
    let fail: (error: Error) => void = () => {}
    const moved = new MovedChannels({
      ...steps,
      subscribe: () =>
        new Promise<void>((_, reject) => {
          fail = reject
        }),
    })
    moved.add(['a'], 1000)
    const round = moved.catchUp()
    moved.clear()
    fail(new Error('Connection is closed.'))
    expect((await round).failed?.message).toBe('Connection is closed.')
    expect(moved.heldForMs(100_000)).toBe(0)
  })
})
