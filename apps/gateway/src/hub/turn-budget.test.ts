import { describe, expect, it } from 'vitest'
import { turnCounter } from '../../test/turn-counter.js'
import { TurnBudget } from './turn-budget.js'

describe('TurnBudget', () => {
  it('lets work go on within a turn until the budget is spent, then waits for the next turn', async () => {
    const budget = new TurnBudget(10)
    const turns = turnCounter()
    const spentAt: number[] = []
    try {
      for (let i = 0; i < 25; i++) {
        while (budget.nextTurn !== undefined) await budget.nextTurn
        spentAt.push(turns.now())
        budget.spend(3)
      }
    } finally {
      turns.stop()
    }
    const perTurn = new Map<number, number>()
    for (const at of spentAt) perTurn.set(at, (perTurn.get(at) ?? 0) + 1)
    // 3 writes at a time: the fourth spend reaches 10, and the next one waits for the next turn.
    expect([...perTurn.values()]).toEqual([4, 4, 4, 4, 4, 4, 1])
  })

  it('is shared: work from several callers in one turn spends one budget', async () => {
    const budget = new TurnBudget(10)
    const turns = turnCounter()
    const spentAt: Array<[caller: string, turn: number]> = []
    const caller = async (name: string) => {
      for (let i = 0; i < 6; i++) {
        while (budget.nextTurn !== undefined) await budget.nextTurn
        spentAt.push([name, turns.now()])
        budget.spend(1)
      }
    }
    try {
      await Promise.all([caller('a'), caller('b'), caller('c')])
    } finally {
      turns.stop()
    }
    const perTurn = new Map<number, number>()
    for (const [, at] of spentAt) perTurn.set(at, (perTurn.get(at) ?? 0) + 1)
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(10)
    expect(spentAt).toHaveLength(18)
  })

  it('starts each turn afresh: what a turn spent under the budget does not carry over', async () => {
    const budget = new TurnBudget(10)
    for (let turn = 0; turn < 5; turn++) {
      expect(budget.nextTurn).toBeUndefined()
      budget.spend(9)
      await new Promise((resolve) => setImmediate(resolve))
    }
    budget.spend(10)
    expect(budget.nextTurn).toBeInstanceOf(Promise)
  })
})
