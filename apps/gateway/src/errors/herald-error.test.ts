import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_STATUS, HeraldError, type HeraldErrorCode } from './herald-error.js'

const repository = new URL('../../../../', import.meta.url)
const userDocs = ['README.md', 'docs/protocol.md', 'docs/security.md']
  .map((path) => readFileSync(new URL(path, repository), 'utf8'))
  .join('\n')

/** Codes no client ever receives: the events route turns this one into a `keys_unavailable` shed. */
const NEVER_SENT: readonly HeraldErrorCode[] = ['HERALD_ERR_KEYS_UNAVAILABLE']

describe('HeraldError', () => {
  it('answers its code with the status the code maps to, in the documented body', () => {
    const error = new HeraldError('HERALD_ERR_TOPIC_FORBIDDEN', 'topic "x" is not granted')
    expect(error.status).toBe(403)
    expect(JSON.stringify(error)).toBe(
      '{"error":{"code":"HERALD_ERR_TOPIC_FORBIDDEN","message":"topic \\"x\\" is not granted"}}',
    )
  })

  it('has every code a client can receive written out whole in the docs, so one search finds it', () => {
    const codes = Object.keys(ERROR_STATUS) as HeraldErrorCode[]
    const undocumented = codes.filter((code) => !NEVER_SENT.includes(code) && !userDocs.includes(code))
    expect(undocumented).toEqual([])
  })
})
