import { describe, expect, it } from 'vitest'
import { ConnectionBudget } from './connection-budget.js'

describe('ConnectionBudget', () => {
  it('enforces the per-user cap before the node cap fills', () => {
    const budget = new ConnectionBudget(10, 2)
    expect(budget.tryAcquire('a')).toBe('ok')
    expect(budget.tryAcquire('a')).toBe('ok')
    expect(budget.tryAcquire('a')).toBe('user_limit')
    expect(budget.tryAcquire('b')).toBe('ok')
    expect(budget.total).toBe(3)
  })

  it('enforces the node cap and frees capacity on release', () => {
    const budget = new ConnectionBudget(2, 5)
    budget.tryAcquire('a')
    budget.tryAcquire('b')
    expect(budget.tryAcquire('c')).toBe('over_capacity')
    budget.release('a')
    expect(budget.tryAcquire('c')).toBe('ok')
  })

  it('ignores releases for users it does not hold', () => {
    const budget = new ConnectionBudget(2, 5)
    budget.release('ghost')
    expect(budget.total).toBe(0)
  })
})
