import { describe, expect, it } from 'vitest'
import { PublishError } from './publish-error.js'
import { MAY_BE_APPLIED } from './publish-failure.js'
import { inShellTerms } from './shell-terms.js'

describe('inShellTerms', () => {
  it('leaves out maxDataBytes, which the CLI cannot raise', () => {
    const large = new PublishError(
      'HERALD_ERR_DATA_TOO_LARGE',
      'data is larger than 262144 bytes (262146 bytes of JSON); publish less, or raise maxDataBytes',
    )
    expect(inShellTerms(large, false).message).toBe(
      'data is larger than 262144 bytes (262146 bytes of JSON); publish less',
    )
  })

  it('advises a retry with the --idempotency-key given, and without one, a check first', () => {
    const unanswered = new PublishError('HERALD_ERR_REDIS', `Redis did not answer within 500 ms; ${MAY_BE_APPLIED}`, {
      timedOut: true,
    })
    const keyed = inShellTerms(unanswered, true)
    expect([keyed.code, keyed.timedOut, keyed.message]).toEqual([
      'HERALD_ERR_REDIS',
      true,
      'Redis did not answer within 500 ms; the publish may have been applied, whole or in part, so retry it with the same --idempotency-key',
    ])
    expect(inShellTerms(unanswered, false).message).toBe(
      'Redis did not answer within 500 ms; the publish may have been applied, whole or in part, so check before publishing it again, or publish with --idempotency-key, whose retries are safe',
    )
  })

  it('keeps any other failure as it is', () => {
    const unsent = new PublishError('HERALD_ERR_REDIS', 'Redis was not connected (ECONNREFUSED); nothing was sent')
    expect(inShellTerms(unsent, false)).toBe(unsent)
  })
})
