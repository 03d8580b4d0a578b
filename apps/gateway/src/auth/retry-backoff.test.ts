import { describe, expect, it } from 'vitest'
import { RetryBackoff } from './retry-backoff.js'

describe('RetryBackoff', () => {
  it('allows a try at once, then waits after each failure twice as long, up to the maximum', () => {
    const backoff = new RetryBackoff(1000, 5000)
    expect(backoff.ready(0)).toBe(true)
    const waits: number[] = []
    let now = 0
    for (let failure = 0; failure < 5; failure++) {
      backoff.outcome(false, now)
      let wait = 0
      while (!backoff.ready(now + wait)) wait += 250
      waits.push(wait)
      now += wait
    }
    expect(waits).toEqual([1000, 2000, 4000, 5000, 5000])
  })

  it('clears the wait once a try succeeds', () => {
    const backoff = new RetryBackoff(1000, 30_000)
    backoff.outcome(false, 0)
    backoff.outcome(false, 1000)
    expect(backoff.ready(2999)).toBe(false)
    backoff.outcome(true, 3000)
    expect(backoff.ready(3000)).toBe(true)
    backoff.outcome(false, 3000)
    expect(backoff.ready(3999)).toBe(false)
    expect(backoff.ready(4000)).toBe(true)
  })

  it('never waits when the maximum is 0', () => {
    const backoff = new RetryBackoff(0, 0)
    backoff.outcome(false, 10)
    expect(backoff.ready(10)).toBe(true)
  })
})
