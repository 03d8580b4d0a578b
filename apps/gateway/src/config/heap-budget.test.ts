import { describe, expect, it } from 'vitest'
import { unsentBudgetProblem } from './heap-budget.js'

const MiB = 1024 * 1024

describe('unsentBudgetProblem', () => {
  it('takes a bound up to half the heap limit, as the default quarter', () => {
    expect(unsentBudgetProblem(64 * MiB, 256 * MiB)).toBeUndefined()
    expect(unsentBudgetProblem(128 * MiB, 256 * MiB)).toBeUndefined()
  })

  it('names a bound over half the heap limit, with both figures and what to change', () => {
    const problem = unsentBudgetProblem(256 * MiB, 262 * MiB)
    expect(problem).toContain(`MAX_UNSENT_BYTES ${256 * MiB}`)
    expect(problem).toContain(`(${262 * MiB} bytes)`)
    expect(problem).toMatch(/--max-old-space-size/)
  })
})
