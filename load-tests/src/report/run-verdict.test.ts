import { describe, expect, it } from 'vitest'
import { deliveredAll, runFailures } from './run-verdict.js'

describe('deliveredAll', () => {
  it('counts a step only when every published message reached every stream it was for', () => {
    expect(deliveredAll({ published: 99, deliveries: 99 }, 1)).toBe(true)
    expect(deliveredAll({ published: 24, deliveries: 240_000 }, 10_000)).toBe(true)
    // A gateway killed mid-run: its empty latency record reads p99 0 ms.
    expect(deliveredAll({ published: 199, deliveries: 0 }, 1)).toBe(false)
    expect(deliveredAll({ published: 99, deliveries: 32 }, 1)).toBe(false)
    expect(deliveredAll({ published: 24, deliveries: 239_999 }, 10_000)).toBe(false)
    // Nothing published is nothing shown.
    expect(deliveredAll({ published: 0, deliveries: 0 }, 1)).toBe(false)
  })
})

describe('runFailures', () => {
  const file = (runs: unknown[], failures: { target: string; error: string }[] = []) => ({
    scenario: 'unicast' as const,
    runs,
    failures,
  })

  it('passes a run whose Herald lost and repeated nothing, whatever a peer lost', () => {
    expect(
      runFailures(
        file([
          { target: 'herald', verdict: { lost: 0, duplicates: 0, outOfOrder: 0 } },
          { target: 'naive-hono', verdict: { lost: 60, duplicates: 0, outOfOrder: 0 } },
        ]),
      ),
    ).toEqual([])
  })

  it("fails on Herald's losses or duplicates, a target that did not run, or no run at all", () => {
    expect(
      runFailures(file([{ target: 'herald-per-core', verdict: { lost: 266, duplicates: 1, outOfOrder: 0 } }])),
    ).toEqual(['unicast → herald-per-core: 266 lost, 1 duplicates'])
    expect(runFailures(file([], [{ target: 'herald', error: 'nothing listens' }]))).toEqual([
      'unicast → herald did not run: nothing listens',
    ])
    expect(runFailures(file([]))).toEqual(['unicast: no target ran'])
  })
})
