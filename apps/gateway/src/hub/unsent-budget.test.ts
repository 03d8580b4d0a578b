import { describe, expect, it } from 'vitest'
import { overUnsentBudget } from './unsent-budget.js'

const holders = (...bytes: number[]) => bytes.map((unsentBytes, index) => ({ index, unsentBytes }))

describe('overUnsentBudget', () => {
  it('cuts nothing within the budget, the budget itself included', () => {
    expect(overUnsentBudget(holders(400, 0, 600), 1000)).toEqual([])
    expect(overUnsentBudget([], 0)).toEqual([])
  })

  it('cuts the largest holders first, only as many as bring the rest within the budget', () => {
    const cut = overUnsentBudget(holders(100, 900, 50, 700, 300), 1000)
    // 2,050 in all: 900 and 700 go, and 450 stay.
    expect(cut.map((holder) => holder.index)).toEqual([1, 3])
  })

  it('leaves streams that hold nothing alone, even at a budget of nothing', () => {
    expect(overUnsentBudget(holders(0, 5, 0), 0).map((holder) => holder.index)).toEqual([1])
  })

  it('leaves out what holders it may not cut hold: cutting others for it would free nothing', () => {
    // 300 streams in setup with their replays, 50 live ones with a little each (a reconnect storm).
    const storm = [...holders(...Array(300).fill(1 << 20)), ...holders(...Array(50).fill(8192))]
    const live = (holder: { index: number }) => storm.indexOf(holder as (typeof storm)[number]) >= 300
    expect(overUnsentBudget(storm, 256 << 20, live)).toEqual([])
    const cut = overUnsentBudget(holders(5000, 900, 300), 1000, (holder) => holder.index !== 0)
    expect(cut.map((holder) => holder.index)).toEqual([1])
  })
})
