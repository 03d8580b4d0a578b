import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TokenSource } from './token-source.js'

describe('TokenSource', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('shares one getToken call between callers that ask at the same time', async () => {
    let calls = 0
    const source = new TokenSource(
      async () => `t${++calls}`,
      15_000,
      () => {},
    )
    expect(await Promise.all([source.next(), source.next()])).toEqual(['t1', 't1'])
    expect(await source.next()).toBe('t2')
  })

  it('fails a call that never settles after the timeout, and calls getToken again on the next ask', async () => {
    let calls = 0
    const source = new TokenSource(
      () => (++calls === 1 ? new Promise<string>(() => {}) : 'fresh'),
      15_000,
      () => {},
    )
    const first = source.next()
    const outcome = first.then(
      () => 'resolved',
      (error: Error) => error.message,
    )
    await vi.advanceTimersByTimeAsync(14_999)
    expect(await Promise.race([outcome, 'pending'])).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(await outcome).toBe('getToken did not settle within 15000 ms')
    expect(await source.next()).toBe('fresh')
    expect(calls).toBe(2)
  })

  it('fails and reports a getToken that returns something other than a string', async () => {
    const reported: TypeError[] = []
    for (const value of [null, 42, { token: 'x' }, undefined]) {
      const source = new TokenSource(
        async () => value as unknown as string,
        15_000,
        (e) => reported.push(e),
      )
      await expect(source.next()).rejects.toBeInstanceOf(TypeError)
    }
    expect(reported.map((e) => e.message)).toEqual([
      'getToken must return a string (a JWT), got null',
      'getToken must return a string (a JWT), got number',
      'getToken must return a string (a JWT), got object',
      'getToken must return a string (a JWT), got undefined',
    ])
  })

  it('passes a thrown or rejected error on', async () => {
    const thrown = new TokenSource(
      () => {
        throw new Error('down')
      },
      15_000,
      () => {},
    )
    await expect(thrown.next()).rejects.toThrow('down')
    const rejected = new TokenSource(
      () => Promise.reject(new Error('401')),
      15_000,
      () => {},
    )
    await expect(rejected.next()).rejects.toThrow('401')
  })
})
