import { afterEach, describe, expect, it, vi } from 'vitest'
import { StreamExpiry } from './stream-expiry.js'

const item = (name: string) => ({ name, expiryMs: 0 })

describe('StreamExpiry', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('expires every stream at its deadline, neither before nor after, however the sweep falls', () => {
    vi.useFakeTimers({ now: 0 })
    const expired = new Map<string, number>()
    const expiry = new StreamExpiry<ReturnType<typeof item>>(1_000, (i) => expired.set(i.name, Date.now()))
    const deadlines = new Map<string, number>()
    // Streams open at every 100 ms offset from the sweep, with deadlines from 50 ms to 5 s away.
    for (let opened = 0; opened < 1_000; opened += 100) {
      for (const ahead of [50, 300, 999, 1_000, 1_500, 1_999, 2_000, 2_500, 3_999, 5_000, 60_001]) {
        const name = `${opened}+${ahead}`
        deadlines.set(name, opened + ahead)
        expiry.add(item(name), opened + ahead)
      }
      vi.advanceTimersByTime(100)
    }
    vi.advanceTimersByTime(70_000)
    expect(expired.size).toBe(deadlines.size)
    // To the millisecond: never late, and never early (a client refreshes its token ahead of it).
    for (const [name, deadline] of deadlines) expect(expired.get(name), name).toBe(deadline)
    expiry.close()
  })

  it('forgets a removed stream, near deadline or far', () => {
    vi.useFakeTimers({ now: 0 })
    const expired: string[] = []
    const expiry = new StreamExpiry<ReturnType<typeof item>>(1_000, (i) => expired.push(i.name))
    const [near, far] = [item('near'), item('far')]
    expiry.add(near, 500)
    expiry.add(far, 60_000)
    expect(expiry.size).toBe(2)
    expiry.remove(near)
    expiry.remove(far)
    vi.advanceTimersByTime(120_000)
    expect(expired).toEqual([])
    expect(expiry.size).toBe(0)
    expiry.close()
  })
})
