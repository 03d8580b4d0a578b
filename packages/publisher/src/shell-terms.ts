/**
 * A publish's failure in the CLI's words. The SDK's advice names what a program can change:
 * `maxDataBytes`, which the CLI has no way to raise, and an `idempotencyKey` per message, where
 * the CLI publishes one message with the `--idempotency-key` given, or none, which a retry
 * cannot make safe after the fact.
 */

import { PublishError } from './publish-error.js'
import { MAY_BE_APPLIED } from './publish-failure.js'

const RETRY_ADVICE = 'so retry it with the same idempotencyKey (one per message)'

export function inShellTerms(error: PublishError, keyGiven: boolean): PublishError {
  const message = error.message
    .replace(', or raise maxDataBytes', '')
    .replace(
      MAY_BE_APPLIED,
      MAY_BE_APPLIED.replace(
        RETRY_ADVICE,
        keyGiven
          ? 'so retry it with the same --idempotency-key'
          : 'so check before publishing it again, or publish with --idempotency-key, whose retries are safe',
      ),
    )
  return message === error.message ? error : new PublishError(error.code, message, { timedOut: error.timedOut })
}
