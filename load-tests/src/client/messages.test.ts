import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { now, payload } from './messages.js'

describe('now', () => {
  it('reads one clock across processes: a child’s reading falls between two of the parent’s', () => {
    const before = now()
    const child = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(Number(process.hrtime.bigint()) / 1e6))']),
    )
    const after = now()
    expect(child).toBeGreaterThan(before)
    expect(child).toBeLessThan(after)
  })

  it('goes into every payload beside the sequence number', () => {
    const before = now()
    const { s, t } = JSON.parse(payload(7)) as { s: number; t: number }
    expect(s).toBe(7)
    expect(t).toBeGreaterThanOrEqual(before)
    expect(t).toBeLessThanOrEqual(now())
  })
})
