/**
 * The publisher's one error type, with stable codes to match on.
 */

import { messageOf } from './describe-value.js'

export type PublishErrorCode =
  /**
   * The message breaks a rule (target, name, type, data, idempotency key), or the call does
   * (not an array of messages, options of the wrong kind); nothing was sent. Also Redis's
   * functions refusing a message (HERALD_ERR_DATA, ...): that call appended nothing, though the
   * other calls of a publish split over several (over 100 messages, or a cluster's slots) may have.
   */
  | 'HERALD_ERR_INVALID'
  /**
   * The message's data, as JSON, is larger than the publisher's `maxDataBytes` (256 KiB by
   * default, the gateway's default publish body limit); nothing was sent.
   */
  | 'HERALD_ERR_DATA_TOO_LARGE'
  /**
   * Redis did not take the publish; it may be down or failing over. After the publisher's
   * `timeoutMs` the message says whether the publish was sent (and so may still be applied).
   */
  | 'HERALD_ERR_REDIS'
  /** The publish came after `close()`; nothing was sent. */
  | 'HERALD_ERR_CLOSED'
  /** Redis took the publish but fewer replicas than asked acknowledged it in time. */
  | 'HERALD_ERR_NOT_REPLICATED'

export class PublishError extends Error {
  override readonly name = 'PublishError'
  /** Failed by the publisher's own `timeoutMs`, not by Redis: the message says whether it was sent. */
  readonly timedOut: boolean

  constructor(
    readonly code: PublishErrorCode,
    message: string,
    options?: ErrorOptions & { readonly timedOut?: boolean },
  ) {
    super(message, options)
    this.timedOut = options?.timedOut ?? false
  }
}

/**
 * What Redis or ioredis said. A Cluster client that cannot map its slots says only "Failed to
 * refresh slots cache.", and keeps the node's own answer (a WRONGPASS, a refused connection)
 * as `lastNodeError`: that answer is what the reader needs, so it is added.
 */
export function redisErrorMessage(error: unknown): string {
  const message = messageOf(error)
  const lastNodeError = error instanceof Error ? (error as { lastNodeError?: unknown }).lastNodeError : undefined
  if (!(lastNodeError instanceof Error)) return message
  // "Connection is closed." alone does not say which of the seed nodes an operator must look at.
  const node = nodeOfError.get(lastNodeError)
  return `${message} ${lastNodeError.message}${node === undefined ? '' : ` (the last node tried: ${node})`}`
}

/** The Cluster node each error came from: ioredis names it in its 'node error' event, not in the error. */
const nodeOfError = new WeakMap<Error, string>()

/** Keeps the node a Cluster's 'node error' event named, for redisErrorMessage to report. */
export function rememberErrorNode(error: unknown, node: string): void {
  if (error instanceof Error) nodeOfError.set(error, node)
}

/**
 * The cause a PublishError keeps of what Redis or ioredis threw. ioredis attaches the failed
 * command to its errors, arguments and all: an AUTH's are the user name and password, which a
 * logger that prints causes (pino's errWithCause, util.inspect) would print. A Cluster's
 * "Failed to refresh slots cache." carries such an error as its `lastNodeError`. So an error
 * that carries either is kept as its name, message (with the node's) and stack alone.
 */
export function redisCause(error: unknown): unknown {
  if (!(error instanceof Error) || !('command' in error || 'lastNodeError' in error)) return error
  const cause = new Error(redisErrorMessage(error))
  cause.name = error.name
  if (error.stack !== undefined) cause.stack = error.stack
  return cause
}
