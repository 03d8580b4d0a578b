import { describe, expect, it } from 'vitest'
import { askedDelayMs, attemptAfterStream, backoffDelay, waitAfterClosingRetry } from './backoff.js'

describe('backoffDelay', () => {
  const policy = { baseMs: 1000, maxMs: 30_000 }

  it('doubles each attempt, between half and all of the step', () => {
    expect(backoffDelay(policy, 0, () => 0)).toBe(500)
    expect(backoffDelay(policy, 0, () => 1)).toBe(1000)
    expect(backoffDelay(policy, 3, () => 0)).toBe(4000)
    expect(backoffDelay(policy, 3, () => 1)).toBe(8000)
  })

  it('never exceeds the cap, even after many attempts', () => {
    expect(backoffDelay(policy, 10, () => 1)).toBe(30_000)
    expect(backoffDelay(policy, 10_000, () => 1)).toBe(30_000)
    expect(backoffDelay(policy, 10_000, () => 0)).toBe(15_000)
  })

  it('spreads clients over the window', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 2)))
    expect(delays.size).toBeGreaterThan(10)
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(2000)
  })

  it('never waits less than 100 ms, however small the step: jitter must not halve the floor', () => {
    expect(backoffDelay({ baseMs: 100, maxMs: 30_000 }, 0, () => 0)).toBe(100)
    expect(backoffDelay({ baseMs: 100, maxMs: 30_000 }, 1, () => 0)).toBe(100)
    expect(backoffDelay({ baseMs: 100, maxMs: 30_000 }, 2, () => 0)).toBe(200)
    expect(backoffDelay({ baseMs: 10, maxMs: 30_000 }, 0, () => 1)).toBe(100)
  })
})

describe('attemptAfterStream', () => {
  const policy = { baseMs: 100, maxMs: 30_000 }

  it('starts over once a stream stayed live as long as the step it would give up', () => {
    expect(attemptAfterStream(policy, 0, 100)).toBe(0)
    expect(attemptAfterStream(policy, 4, 1600)).toBe(0)
    expect(attemptAfterStream(policy, 20, 30_000)).toBe(0)
  })

  it('keeps backing off after a stream that went live and ended at once, or never went live', () => {
    expect(attemptAfterStream(policy, 3, 0)).toBe(3)
    expect(attemptAfterStream(policy, 4, 1599)).toBe(4)
    expect(attemptAfterStream(policy, 20, 29_999)).toBe(20)
    expect(attemptAfterStream(policy, 2, undefined)).toBe(2)
  })
})

describe('waitAfterClosingRetry', () => {
  const policy = { baseMs: 3000, maxMs: 30_000 }

  it('waits what the server asked as it ended a stream live at least the first step, however grown the backoff', () => {
    expect(waitAfterClosingRetry(policy, 24_000, 4200, 3000)).toBe(4200)
    expect(waitAfterClosingRetry(policy, 24_000, 4200, 600_000)).toBe(4200)
  })

  it('backs off, waiting at least what was asked, after a stream that ended sooner than that', () => {
    expect(waitAfterClosingRetry(policy, 24_000, 100, 2999)).toBe(24_000)
    expect(waitAfterClosingRetry(policy, 1500, 4200, 0)).toBe(4200)
  })
})

describe('askedDelayMs', () => {
  it('waits what a server asked, from 100 ms to 10 minutes, and ignores what is not a finite number', () => {
    expect([0, -5, 99, 100, 3000, 600_000, 1e10].map(askedDelayMs)).toEqual([
      100, 100, 100, 100, 3000, 600_000, 600_000,
    ])
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, '3000', null, undefined]) {
      expect(askedDelayMs(value)).toBeUndefined()
    }
  })
})
