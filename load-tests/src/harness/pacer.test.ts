import { describe, expect, it } from 'vitest'
import { now } from '../client/messages.js'
import { pace } from './pacer.js'

describe('pace', () => {
  it('stamps each message with when it fell due, one interval after the last, however late its batch went out', async () => {
    const dueTimes: number[] = []
    const startedAt = now()
    // Every batch takes 30 ms to be answered: with 4 in flight, what falls due meanwhile waits.
    const result = await pace(1000, 200, async (count, dueAt) => {
      for (let i = 0; i < count; i++) dueTimes.push(dueAt(i))
      await new Promise((resolve) => setTimeout(resolve, 30))
    })
    expect(dueTimes).toHaveLength(result.sent)
    expect(dueTimes[0]! - startedAt).toBeGreaterThanOrEqual(1)
    for (let m = 1; m < dueTimes.length; m++) expect(dueTimes[m]! - dueTimes[m - 1]!).toBeCloseTo(1, 9)
  })
})
