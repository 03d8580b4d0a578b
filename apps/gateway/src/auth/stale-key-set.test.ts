import { afterEach, describe, expect, it, vi } from 'vitest'
import { keepingStaleKeys, type ReloadableKeySet } from './stale-key-set.js'

describe('keepingStaleKeys', () => {
  afterEach(() => vi.useRealTimers())

  /**
   * A key set that answers 'key', fetched at `fetchedAtMs`, whose reloads succeed, throw `failure`,
   * or (with 'pending') wait until the test settles them through `settleReload`.
   */
  function setup(fetchedAtMs: number | undefined, failure?: Error | 'pending') {
    let settleReload: (error?: Error) => void = () => {}
    const keySet = Object.assign(async () => 'key' as never, {
      reload: vi.fn(async () => {
        if (failure === 'pending') {
          const error = await new Promise<Error | undefined>((resolve) => {
            settleReload = resolve
          })
          if (error !== undefined) throw error
        } else if (failure !== undefined) throw failure
      }),
    }) as unknown as ReloadableKeySet & { reload: ReturnType<typeof vi.fn> }
    const stale: unknown[] = []
    const keys = keepingStaleKeys(keySet, {
      maxAgeMs: 1000,
      staleLimitMs: 10_000,
      refreshWaitMs: 500,
      fetchedAtMs: () => fetchedAtMs,
      onStale: (error) => stale.push(error),
    })
    const lookUp = async () => keys({ alg: 'RS256' }, { payload: '', signature: '' } as never)
    return { keySet, stale, lookUp, settleReload: (error?: Error) => settleReload(error) }
  }

  it('looks keys up in the set as it is while it is younger than maxAgeMs, or not fetched yet', async () => {
    vi.useFakeTimers({ now: 5000, toFake: ['performance'] })
    for (const fetchedAt of [4001, undefined]) {
      const { keySet, lookUp } = setup(fetchedAt)
      expect(await lookUp()).toBe('key')
      expect(keySet.reload).not.toHaveBeenCalled()
    }
  })

  it('refreshes an older set first', async () => {
    vi.useFakeTimers({ now: 5000, toFake: ['performance'] })
    const { keySet, stale, lookUp } = setup(4000)
    expect(await lookUp()).toBe('key')
    expect(keySet.reload).toHaveBeenCalledTimes(1)
    expect(stale).toEqual([])
  })

  it('keeps a set it cannot refresh until staleLimitMs, saying so, and then fails as the refresh did', async () => {
    const down = new Error('503 from the issuer')
    vi.useFakeTimers({ now: 9999, toFake: ['performance'] })
    const within = setup(0, down)
    expect(await within.lookUp()).toBe('key')
    expect(within.stale).toEqual([down])
    vi.advanceTimersByTime(1)
    const past = setup(0, down)
    await expect(past.lookUp()).rejects.toBe(down)
    expect(past.stale).toEqual([])
  })

  it('waits refreshWaitMs at most for a refresh, then uses the set in hand; one refresh serves every lookup', async () => {
    vi.useFakeTimers({ now: 5000, toFake: ['performance', 'setTimeout', 'clearTimeout'] })
    const { keySet, stale, lookUp, settleReload } = setup(4000, 'pending')
    const looked: unknown[] = []
    for (let i = 0; i < 3; i++) void lookUp().then((key) => looked.push(key))
    await vi.advanceTimersByTimeAsync(499)
    expect(looked).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(looked).toEqual(['key', 'key', 'key'])
    expect(keySet.reload).toHaveBeenCalledTimes(1)
    // The refresh goes on: its failure, when it comes, is reported once, and the next lookup asks again.
    const down = new Error('the issuer answered nothing')
    settleReload(down)
    await vi.advanceTimersByTimeAsync(0)
    expect(stale).toEqual([down])
    void lookUp()
    expect(keySet.reload).toHaveBeenCalledTimes(2)
  })

  it('waits for the refresh however long it takes once the set is past staleLimitMs', async () => {
    vi.useFakeTimers({ now: 10_000, toFake: ['performance', 'setTimeout', 'clearTimeout'] })
    const { lookUp, settleReload } = setup(0, 'pending')
    const outcome = lookUp().then(
      (key) => key,
      (error: Error) => error.message,
    )
    let settled = false
    void outcome.then(() => {
      settled = true
    })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(settled).toBe(false)
    settleReload(new Error('the issuer answered nothing'))
    expect(await outcome).toBe('the issuer answered nothing')
  })
})
