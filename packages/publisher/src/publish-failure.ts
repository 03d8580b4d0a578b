/**
 * What a caller is told when a publish fails: a refusal by Herald's functions
 * (the caller's message) or a failure of Redis, and then whether the publish
 * may have been applied or wrote nothing, since only the first needs a retry
 * with the same idempotency key. Pure: errors in, a PublishError out.
 */

import { FunctionsLoadError } from './functions.js'
import { PublishError, redisCause, redisErrorMessage } from './publish-error.js'

/**
 * How Herald's functions refuse a message (docs/redis-contract.md): the caller's fault, not
 * Redis's, and the refusing call appended nothing. `message <n>` counts from 1 within the call.
 */
const FUNCTION_REFUSAL = /^(HERALD_ERR_(?:KEY|TYPE|DATA|ARGS)) (?:message (\d+): )?/

/** What a caller is told of a publish Redis may have run: a retry is safe only with its idempotencyKey. */
export const MAY_BE_APPLIED =
  'the publish may have been applied, whole or in part, so retry it with the same idempotencyKey (one per message)'

/** Redis's ACL refusing the FCALL itself: no function ran. */
const FCALL_REFUSED = /^NOPERM .*'fcall' command/i

/**
 * Redis refusing a command before it runs it (processCommand's checks): full under noeviction,
 * a replica, a dataset still loading, a script running, a master down or short of replicas, a
 * Cluster down or mid-reshard. Told "may have been applied", a caller without an idempotency
 * key could not retry, though none of 781 publishes a full Redis refused was ever stored (a probe).
 */
const REFUSED_BEFORE_RUNNING = /^(?:OOM|READONLY|LOADING|BUSY|MASTERDOWN|NOREPLICAS|CLUSTERDOWN|TRYAGAIN|MOVED|ASK) /

/** A Cluster node's redirection reaching a client that does not follow them: a standalone URL to a Cluster. */
const REDIRECTED = /^(?:MOVED|ASK) /

/** ioredis's refusals of a command it never wrote: there was no connection to write it to. */
const NOT_WRITTEN = /^(?:Stream isn't writeable|Cluster isn't ready)/

/**
 * A failed publish as a PublishError: a refusal by the functions is HERALD_ERR_INVALID, naming
 * the message by its index in the publish (`indexes` maps a call's messages to those), and
 * anything else is HERALD_ERR_REDIS, saying whether the publish may have been applied: a
 * function that fails past its checks (a key of the wrong type) keeps what it appended, and a
 * publish split over several calls keeps the calls that succeeded: `otherCallsSent` says one
 * of those was sent, so that what the failed call wrote is not told as the publish's.
 */
export function publishFailure(
  error: unknown,
  indexes?: readonly number[],
  sent = true,
  otherCallsSent = false,
): PublishError {
  // What the failed call wrote is not what the publish wrote, once others of it were sent.
  const others = otherCallsSent ? `, but other calls of this publish were sent: ${MAY_BE_APPLIED}` : ''
  if (error instanceof PublishError) {
    if (others === '' || error.code !== 'HERALD_ERR_REDIS' || error.message.endsWith(MAY_BE_APPLIED)) return error
    return new PublishError(error.code, `${error.message}${others}`, { timedOut: error.timedOut, cause: error.cause })
  }
  const message = redisErrorMessage(error)
  const refusal = FUNCTION_REFUSAL.exec(message)
  // The Redis user's grants, not the message: the functions check them before writing anything,
  // and a user that may not FCALL at all runs none of them.
  if (message.startsWith('HERALD_ERR_NOPERM ') || FCALL_REFUSED.test(message) || REFUSED_BEFORE_RUNNING.test(message)) {
    return new PublishError(
      'HERALD_ERR_REDIS',
      `Redis refused the publish (${message}); the call it refused wrote nothing${others}` +
        (REDIRECTED.test(message) ? '; this Redis is a Cluster node: give a redis+cluster:// URL' : ''),
      {
        cause: redisCause(error),
      },
    )
  }
  if (error instanceof FunctionsLoadError) {
    return new PublishError('HERALD_ERR_REDIS', `${message}; the call that needed them wrote nothing${others}`, {
      cause: error.cause,
    })
  }
  if (refusal === null) {
    const written = sent && !NOT_WRITTEN.test(message)
    return new PublishError(
      'HERALD_ERR_REDIS',
      written
        ? `Redis failed the publish (${message}); ${MAY_BE_APPLIED}`
        : `Redis was not connected (${message}); ${others === '' ? 'nothing was sent' : `this call was not sent${others}`}`,
      { cause: redisCause(error) },
    )
  }
  const n = refusal[2] === undefined ? undefined : Number(refusal[2]) - 1
  const at = n === undefined ? '' : `messages[${indexes?.[n] ?? n}]: `
  return new PublishError(
    'HERALD_ERR_INVALID',
    `${at}Redis refused the message (${refusal[1]}): ${message.slice(refusal[0].length)}`,
    { cause: redisCause(error) },
  )
}
