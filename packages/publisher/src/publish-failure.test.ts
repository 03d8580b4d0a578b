import { describe, expect, it } from 'vitest'
import { FunctionsLoadError } from './functions.js'
import { PublishError } from './publish-error.js'
import { publishFailure } from './publish-failure.js'

/** `CODE: message` of the PublishError a failure becomes. */
const told = (error: unknown, indexes?: readonly number[], sent?: boolean, otherCallsSent?: boolean) => {
  const failure = publishFailure(error, indexes, sent, otherCallsSent)
  return `${failure.code}: ${failure.message}`
}

describe('publishFailure', () => {
  it('keeps a PublishError as it is', () => {
    const error = new PublishError('HERALD_ERR_NOT_REPLICATED', '0 of 1 replicas acknowledged within 10 ms')
    expect(publishFailure(error)).toBe(error)
  })

  it("names the caller's message a function refused by its index in the publish", () => {
    const refusal = new Error('HERALD_ERR_TYPE message 2: type must be 1 to 64 characters')
    expect(told(refusal, [4, 9])).toBe(
      'HERALD_ERR_INVALID: messages[9]: Redis refused the message (HERALD_ERR_TYPE): type must be 1 to 64 characters',
    )
    expect(told(new Error('HERALD_ERR_ARGS limits must be whole numbers'))).toBe(
      'HERALD_ERR_INVALID: Redis refused the message (HERALD_ERR_ARGS): limits must be whole numbers',
    )
  })

  it('says a publish the ACL or a missing library refused wrote nothing', () => {
    expect(told(new Error("NOPERM User publisher has no permissions to run the 'fcall' command"))).toMatch(
      /^HERALD_ERR_REDIS: Redis refused the publish \(NOPERM .*\); the call it refused wrote nothing$/,
    )
    expect(told(new Error('HERALD_ERR_NOPERM the user may not write herald:s:{u:a}'))).toMatch(
      /; the call it refused wrote nothing$/,
    )
    expect(
      told(new FunctionsLoadError(new Error("NOPERM this user has no permissions to run the 'function' command"))),
    ).toMatch(/^HERALD_ERR_REDIS: Redis does not hold Herald's functions .*; the call that needed them wrote nothing$/)
  })

  it('says a publish Redis refused before running it (full, a replica, loading, busy) wrote nothing', () => {
    for (const refusal of [
      "OOM command not allowed when used memory > 'maxmemory'.",
      "READONLY You can't write against a read only replica.",
      'LOADING Redis is loading the dataset in memory',
      'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
      'NOREPLICAS Not enough good replicas to write.',
    ]) {
      expect(told(new Error(refusal))).toBe(
        `HERALD_ERR_REDIS: Redis refused the publish (${refusal}); the call it refused wrote nothing`,
      )
    }
    // A Cluster node answering a client that does not follow its redirections.
    expect(told(new Error('MOVED 866 127.0.0.1:7001'))).toBe(
      'HERALD_ERR_REDIS: Redis refused the publish (MOVED 866 127.0.0.1:7001); the call it refused wrote nothing; ' +
        'this Redis is a Cluster node: give a redis+cluster:// URL',
    )
    // Not a refusal before running: a function that failed past its checks keeps what it wrote.
    expect(told(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toMatch(
      /may have been applied/,
    )
  })

  it('says a failure Redis may have run after the call was sent may have been applied', () => {
    expect(told(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toMatch(
      /^HERALD_ERR_REDIS: Redis failed the publish \(WRONGTYPE .*\); the publish may have been applied, whole or in part, so retry it with the same idempotencyKey/,
    )
  })

  it('says nothing was sent when the call never reached a connection', () => {
    expect(told(new Error('Connection is closed.'), undefined, false)).toBe(
      'HERALD_ERR_REDIS: Redis was not connected (Connection is closed.); nothing was sent',
    )
    expect(told(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toMatch(
      /^HERALD_ERR_REDIS: Redis was not connected .*; nothing was sent$/,
    )
    expect(told(new Error("Cluster isn't ready and enableOfflineQueue options is false"))).toMatch(/nothing was sent$/)
  })

  it('says a failed call of a publish whose other calls were sent may have been applied in part', () => {
    const inPart =
      'but other calls of this publish were sent: the publish may have been applied, whole or in part, so retry it with the same idempotencyKey (one per message)'
    expect(told(new Error("OOM command not allowed when used memory > 'maxmemory'."), [100], true, true)).toBe(
      `HERALD_ERR_REDIS: Redis refused the publish (OOM command not allowed when used memory > 'maxmemory'.); the call it refused wrote nothing, ${inPart}`,
    )
    expect(told(new Error("Cluster isn't ready and enableOfflineQueue options is false"), [1], true, true)).toBe(
      `HERALD_ERR_REDIS: Redis was not connected (Cluster isn't ready and enableOfflineQueue options is false); this call was not sent, ${inPart}`,
    )
    // The migration's own refusal, made a PublishError where it gave up.
    const migrating = new PublishError(
      'HERALD_ERR_REDIS',
      'Redis refused … (TRYAGAIN); the call it refused wrote nothing',
      {
        timedOut: true,
      },
    )
    const failure = publishFailure(migrating, [0], true, true)
    expect([failure.message, failure.timedOut]).toEqual([`${migrating.message}, ${inPart}`, true])
    // Already saying so, or not Redis's failure: as it was.
    const maybe = publishFailure(new Error('ECONNRESET'), [0], true, true)
    expect(maybe.message).toBe(
      'Redis failed the publish (ECONNRESET); the publish may have been applied, whole or in part, so retry it with the same idempotencyKey (one per message)',
    )
    expect(publishFailure(maybe, [0], true, true)).toBe(maybe)
    const replicas = new PublishError('HERALD_ERR_NOT_REPLICATED', '0 of 1 replicas acknowledged within 10 ms')
    expect(publishFailure(replicas, [0], true, true)).toBe(replicas)
  })

  it("keeps no AUTH arguments from ioredis's error as the cause", () => {
    const error = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'auth', args: ['herald', 's3cret'] },
    })
    const failure = publishFailure(error)
    expect(JSON.stringify(failure.cause, Object.getOwnPropertyNames(failure.cause))).not.toContain('s3cret')
  })
})
