import { describe, expect, it } from 'vitest'
import { closingQuote, dataProblem, nestsDeeperThan } from './json-data.js'

describe('closingQuote', () => {
  it('finds the first quote that no backslash escapes', () => {
    expect(closingQuote('"abc",1', 0)).toBe(4)
    expect(closingQuote('x"a\\"b"', 1)).toBe(6)
  })

  it('counts a run of backslashes: an even run escapes itself, not the quote', () => {
    expect(closingQuote('"a\\\\"', 0)).toBe(4)
    expect(closingQuote('"a\\\\\\"b"', 0)).toBe(7)
  })

  it('answers the length of a text whose string never closes', () => {
    expect(closingQuote('"abc', 0)).toBe(4)
    expect(closingQuote('"ab\\"', 0)).toBe(5)
  })
})

describe('nestsDeeperThan', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`

  it('counts objects and arrays as parsing would', () => {
    expect(nestsDeeperThan(nested(32), 32)).toBe(false)
    expect(nestsDeeperThan(nested(33), 32)).toBe(true)
    expect(nestsDeeperThan(`{"a":${nested(32)}}`, 32)).toBe(true)
  })

  it('does not count brackets inside strings and keys', () => {
    const brackets = '['.repeat(40)
    expect(nestsDeeperThan(JSON.stringify({ [brackets]: brackets, s: '\\"[[[' }), 2)).toBe(false)
  })

  it('sees depth hidden in a member that a later duplicate would replace', () => {
    expect(nestsDeeperThan(`{"x":${nested(40)},"x":0}`, 32)).toBe(true)
  })

  it('counts sibling containers at their own depth, not added up', () => {
    expect(nestsDeeperThan(JSON.stringify(Array.from({ length: 50 }, () => [[1]])), 3)).toBe(false)
  })
})

describe('dataProblem', () => {
  it('refuses a lone surrogate but not an escaped backslash before the same letters', () => {
    expect(dataProblem('\ud800', JSON.stringify('\ud800'))).toMatch(/surrogate/)
    expect(dataProblem('\\ud800', JSON.stringify('\\ud800'))).toBeUndefined()
  })

  it('refuses numbers JSON cannot hold, found under a null in the text', () => {
    expect(dataProblem({ n: Number.NaN }, JSON.stringify({ n: Number.NaN }))).toMatch(/NaN/)
    expect(dataProblem({ n: null }, '{"n":null}')).toBeUndefined()
  })
})
