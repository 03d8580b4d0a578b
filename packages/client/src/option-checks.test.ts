import { describe, expect, it } from 'vitest'
import { optionProblem } from './option-checks.js'

describe('optionProblem', () => {
  it('takes every setting left out, and valid ones', () => {
    expect(optionProblem({})).toBeUndefined()
    expect(
      optionProblem({
        tokenTimeoutMs: 1,
        initialRetryMs: 250.5,
        maxRetryMs: 2_147_483_647,
        topics: [],
        types: ['comment'],
        transport: 'eventsource',
        shareAcrossTabs: false,
      }),
    ).toBeUndefined()
  })

  it('refuses a duration that a timer would fire at once, or never time out with', () => {
    for (const name of ['tokenTimeoutMs', 'initialRetryMs', 'maxRetryMs']) {
      for (const value of [Number.NaN, 0, -5, 0.5, Number.POSITIVE_INFINITY, 2_147_483_648, '1000', null]) {
        expect([name, value, optionProblem({ [name]: value })]).toEqual([
          name,
          value,
          expect.stringMatching(
            new RegExp(`^HeraldClient ${name} must be a number of milliseconds from 1 to 2147483647, not `),
          ),
        ])
      }
    }
    expect(optionProblem({ maxRetryMs: Number.NaN })).toBe(
      'HeraldClient maxRetryMs must be a number of milliseconds from 1 to 2147483647, not NaN',
    )
  })

  it('refuses lists that are not of strings, a transport it does not have, and a non-boolean sharing flag', () => {
    expect(optionProblem({ topics: 'news' })).toBe('HeraldClient topics must be an array of topic names (strings)')
    expect(optionProblem({ types: [1] })).toBe('HeraldClient types must be an array of notification types (strings)')
    expect(optionProblem({ transport: 'websocket' })).toBe(
      `HeraldClient transport must be 'auto', 'fetch' or 'eventsource', not "websocket"`,
    )
    expect(optionProblem({ shareAcrossTabs: 'false' })).toBe(
      'HeraldClient shareAcrossTabs must be true or false, not "false"',
    )
  })
})
