import { afterEach, describe, expect, it, vi } from 'vitest'
import { keepingStaleKeys, type ReloadableKeySet } from './stale-key-set.js'

describe('keepingStaleKeys', () => {
  afterEach(() => vi.useRealTimers())

  /** A key set that answers 'key', fetched at `fetchedAtMs`, whose reloads succeed or throw `failure`. */
  function setup(fetchedAtMs: number | undefined, failure?: Error) {
    const keySet = Object.assign(async () => 'key' as never, {
      reload: vi.fn(async () => {
        if (failure !== undefined) throw failure
      }),
    }) as unknown as ReloadableKeySet & { reload: ReturnType<typeof vi.fn> }
    const stale: unknown[] = []
    const keys = keepingStaleKeys(keySet, {
      maxAgeMs: 1000,
      staleLimitMs: 10_000,
      fetchedAtMs: () => fetchedAtMs,
      onStale: (error) => stale.push(error),
    })
    const lookUp = () => keys({ alg: 'RS256' }, { payload: '', signature: '' } as never)
    return { keySet, stale, lookUp }
  }

  it('looks keys up in the set as it is while it is younger than maxAgeMs, or not fetched yet', async () => {
    vi.useFakeTimers({ now: 5000, toFake: ['Date'] })
    for (const fetchedAt of [4001, undefined]) {
      const { keySet, lookUp } = setup(fetchedAt)
      expect(await lookUp()).toBe('key')
      expect(keySet.reload).not.toHaveBeenCalled()
    }
  })

  it('refreshes an older set first', async () => {
    vi.useFakeTimers({ now: 5000, toFake: ['Date'] })
    const { keySet, stale, lookUp } = setup(4000)
    expect(await lookUp()).toBe('key')
    expect(keySet.reload).toHaveBeenCalledTimes(1)
    expect(stale).toEqual([])
  })

  it('keeps a set it cannot refresh until staleLimitMs, saying so, and then fails as the refresh did', async () => {
    const down = new Error('503 from the issuer')
    vi.useFakeTimers({ now: 9999, toFake: ['Date'] })
    const within = setup(0, down)
    expect(await within.lookUp()).toBe('key')
    expect(within.stale).toEqual([down])
    vi.setSystemTime(10_000)
    const past = setup(0, down)
    await expect(past.lookUp()).rejects.toBe(down)
    expect(past.stale).toEqual([])
  })
})
