import { access } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { turnCounter } from '../../test/turn-counter.js'
import { TurnBudget } from './turn-budget.js'

/** How many of `turns` fell in each turn, in order. */
function perTurn(turns: readonly number[]): number[] {
  const counts = new Map<number, number>()
  for (const at of turns) counts.set(at, (counts.get(at) ?? 0) + 1)
  return [...counts.values()]
}

describe('TurnBudget', () => {
  it('lets work go on within a turn until the budget is spent, then waits for the next turn', async () => {
    const budget = new TurnBudget(10)
    const turns = turnCounter()
    const spentAt: number[] = []
    try {
      for (let i = 0; i < 25; i++) {
        await budget.take(() => {
          spentAt.push(turns.now())
          budget.spend(3)
        })
      }
    } finally {
      turns.stop()
    }
    // 3 writes at a time: the fourth spend reaches 10, and the next one waits for the next turn.
    expect(perTurn(spentAt)).toEqual([4, 4, 4, 4, 4, 4, 1])
  })

  it('is shared: work from several callers in one turn spends one budget', async () => {
    const budget = new TurnBudget(10)
    const turns = turnCounter()
    const spentAt: number[] = []
    const caller = async () => {
      for (let i = 0; i < 6; i++) {
        await budget.take(() => {
          spentAt.push(turns.now())
          budget.spend(1)
        })
      }
    }
    try {
      await Promise.all([caller(), caller(), caller()])
    } finally {
      turns.stop()
    }
    expect(Math.max(...perTurn(spentAt))).toBeLessThanOrEqual(10)
    expect(spentAt).toHaveLength(18)
  })

  it('runs work in the order it was queued: one that spends each turn whole does not keep the others waiting', async () => {
    const budget = new TurnBudget(10)
    const ran: string[] = []
    // The hot caller spends a whole turn each time, and queues again as soon as it has.
    const hot = async () => {
      for (let i = 0; i < 5; i++) {
        await budget.take(() => {
          ran.push('hot')
          budget.spend(10)
        })
      }
    }
    // The small ones come once the hot one has written a turn: a catch-up whose read answered later.
    const small = async (name: string) => {
      await new Promise((resolve) => setImmediate(resolve))
      for (let i = 0; i < 2; i++) {
        await budget.take(() => {
          ran.push(name)
          budget.spend(1)
        })
      }
    }
    await Promise.all([hot(), small('a'), small('b')])
    // The hot one's first piece ran outside a turn of the budget's, so its second waits one
    // iteration more, for a poll; the small ones queue meanwhile, behind it. From then on the
    // hot one queues behind them each time it has written.
    expect(ran).toEqual(['hot', 'hot', 'a', 'b', 'hot', 'a', 'b', 'hot', 'hot'])
  })

  it('spent in an I/O callback, starts afresh only after the next poll for I/O, not in the same iteration', async () => {
    const budget = new TurnBudget(10)
    // A Redis read's callback spends the budget whole (the poll phase), and work queues behind
    // it. The immediate queued after it runs in the same iteration's check phase, before any
    // further poll: the work must not have run by then.
    const seen = await new Promise<{ ranBeforeNextPoll: boolean; ran: Promise<void> }>((resolve) => {
      access('.', () => {
        budget.spend(10)
        let workRan = false
        const ran = budget.take(() => {
          workRan = true
        })
        setImmediate(() => resolve({ ranBeforeNextPoll: workRan, ran }))
      })
    })
    expect(seen.ranBeforeNextPoll).toBe(false)
    await seen.ran
    expect(budget.hasRoom).toBe(true)
  })

  it('passes on what the work returns and what it throws, and the line goes on', async () => {
    const budget = new TurnBudget(1)
    budget.spend(1)
    const results = await Promise.allSettled([
      budget.take(() => 'first'),
      budget.take(() => {
        throw new Error('second')
      }),
      budget.take(() => 'third'),
    ])
    expect(results).toEqual([
      { status: 'fulfilled', value: 'first' },
      { status: 'rejected', reason: new Error('second') },
      { status: 'fulfilled', value: 'third' },
    ])
  })

  it('starts each turn afresh: what a turn spent under the budget does not carry over', async () => {
    const budget = new TurnBudget(10)
    for (let turn = 0; turn < 5; turn++) {
      expect(budget.hasRoom).toBe(true)
      budget.spend(9)
      await new Promise((resolve) => setImmediate(resolve))
    }
    budget.spend(10)
    expect(budget.hasRoom).toBe(false)
  })
})
