import { describe, expect, it } from 'vitest'
import { MovedChannels } from './moved-channels.js'

/** Steps that record what was asked, and fail to subscribe while `refuse` is set. */
function recordingSteps(wanted: (key: string) => boolean = () => true) {
  const calls: string[] = []
  const steps = {
    refuse: false,
    subscribe: async (keys: readonly string[]) => {
      calls.push(`subscribe ${keys.join(',')}`)
      if (steps.refuse) throw new Error('MOVED')
    },
    resync: async (keys: readonly string[]) => {
      calls.push(`resync ${keys.join(',')}`)
    },
    wanted,
  }
  return { steps, calls }
}

describe('MovedChannels', () => {
  it('subscribes the moved channels before it catches them up, and forgets them once done', async () => {
    const { steps, calls } = recordingSteps()
    const moved = new MovedChannels(steps)
    moved.add(['a', 'b'], 1000)
    expect(moved.heldForMs(1500)).toBe(500)
    expect(await moved.catchUp()).toBeUndefined()
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
    expect((await moved.catchUp())?.message).toBe('MOVED')
    expect(moved.heldForMs(7000)).toBe(6000)
    steps.refuse = false
    expect(await moved.catchUp()).toBeUndefined()
    expect(calls).toEqual(['subscribe a', 'subscribe a', 'resync a'])
  })

  it('runs one catch-up at a time, and skips channels no stream wants any more', async () => {
    const { steps, calls } = recordingSteps((key) => key !== 'gone')
    const moved = new MovedChannels(steps)
    moved.add(['a', 'gone'], 1000)
    const first = moved.catchUp()
    expect(await moved.catchUp()).toBeUndefined()
    await first
    expect(calls).toEqual(['subscribe a', 'resync a'])
  })

  it('forgets everything on clear, for a full resync', () => {
    const moved = new MovedChannels(recordingSteps().steps)
    moved.add(['a'], 1000)
    moved.clear()
    expect(moved.heldForMs(5000)).toBe(0)
  })
})
