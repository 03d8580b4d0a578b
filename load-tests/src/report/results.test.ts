import { describe, expect, it } from 'vitest'
import { formatJson } from './results.js'

describe('formatJson', () => {
  it('round-trips, with objects expanded and short arrays of plain values on one line', () => {
    const value = {
      a: [1, 2, 3],
      b: { c: 'x', d: [] },
      e: [{ f: null }],
      g: Array.from({ length: 40 }, (_, i) => i * 1000),
    }
    const text = formatJson(value)
    expect(JSON.parse(text)).toEqual(value)
    expect(text).toContain('"a": [1, 2, 3]')
    expect(text).toContain('"d": []')
    expect(text.split('\n').every((line) => line.length <= 120)).toBe(true)
  })
})
