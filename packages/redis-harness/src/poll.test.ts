import { describe, expect, it } from 'vitest'
import { pollUntil } from './poll.js'

describe('pollUntil', () => {
  it('returns the first defined result, treating throws as "not yet"', async () => {
    let calls = 0
    const result = await pollUntil('the third call', async () => {
      calls += 1
      if (calls === 1) throw new Error('connection refused')
      return calls === 3 ? 'done' : undefined
    })
    expect(result).toBe('done')
    expect(calls).toBe(3)
  })

  it('gives up at the deadline with a message naming the wait and the last problem', async () => {
    await expect(
      pollUntil(
        'a master that never changes',
        async () => {
          throw new Error('still :6390')
        },
        { timeoutMs: 200 },
      ),
    ).rejects.toThrow(
      /Timed out after 200 ms \(\d+ attempts\) waiting for a master that never changes; last: still :6390/,
    )
  })
})
