/**
 * A message as a caller writes it, and its validation and encoding: Herald's
 * name rules for targets, types and idempotency keys, the data limits, and
 * the refusal of unknown fields. Pure, so the gateway and the SDK share it and
 * it is tested without Redis.
 */

import {
  eventTypeProblem,
  isValidIdempotencyKey,
  isValidTopic,
  isValidUserId,
  topicChannelKey,
  userChannelKey,
} from '@herald/protocol'
import { kindOf, messageOf } from './describe-value.js'
import { dataProblem, holds, MAX_DATA_DEPTH, nestsDeeperThan } from './json-data.js'
import { PublishError } from './publish-error.js'
import { DEFAULT_MAX_DATA_BYTES } from './publisher-options.js'
import { JsonText } from './raw-json.js'

/** A user's channel or a topic: exactly one of the two (`never` makes TypeScript refuse both together). */
export type Target =
  | { readonly user: string; readonly topic?: never }
  | { readonly topic: string; readonly user?: never }

export interface Message {
  readonly target: Target
  /** No type: leave it out, or null. */
  readonly type?: string | null | undefined
  /** Any JSON-serialisable value, nested at most 32 levels, at most `maxDataBytes` as JSON. */
  readonly data: unknown
  /**
   * Publishing the same key to the same target again returns the first id and appends nothing.
   * No key: leave it out, or null.
   */
  readonly idempotencyKey?: string | null | undefined
}

/** A message already validated and encoded: what the gateway's broker passes. */
export interface EncodedMessage {
  readonly channelKey: string
  readonly type: string | undefined
  /** JSON text. */
  readonly data: string
  readonly idempotencyKey: string | undefined
}

/**
 * Validates a message against Herald's rules and encodes it; throws `HERALD_ERR_INVALID`, or
 * `HERALD_ERR_DATA_TOO_LARGE` for data over `maxDataBytes` bytes of UTF-8 JSON (default 262144).
 * A null type or idempotency key is none, as leaving it out is.
 */
export function encodeMessage(message: Message, maxDataBytes: number = DEFAULT_MAX_DATA_BYTES): EncodedMessage {
  try {
    return encodeReadMessage(message, maxDataBytes)
  } catch (error) {
    // Reading the caller's objects threw (a getter, a revoked Proxy): their fault, and nothing was sent.
    if (error instanceof PublishError) throw error
    throw new PublishError('HERALD_ERR_INVALID', `the message could not be read: ${messageOf(error)}`, {
      cause: error,
    })
  }
}

function encodeReadMessage(message: Message, maxDataBytes: number): EncodedMessage {
  if (message === null || typeof message !== 'object') {
    throw new PublishError(
      'HERALD_ERR_INVALID',
      `a message must be an object ({ target, type, data, idempotencyKey }), not ${kindOf(message)}`,
    )
  }
  refuseUnknownFields(message, MESSAGE_FIELDS, 'a message', 'target, type, data and idempotencyKey')
  const { data } = message
  const channelKey = channelKeyOf(message.target)
  const type = message.type ?? undefined
  if (type !== undefined) {
    if (typeof type !== 'string') {
      throw new PublishError(
        'HERALD_ERR_INVALID',
        `type must be a string (or undefined or null for none), not ${kindOf(type)}`,
      )
    }
    const problem = eventTypeProblem(type)
    if (problem !== undefined) throw new PublishError('HERALD_ERR_INVALID', problem)
  }
  const key = message.idempotencyKey ?? undefined
  if (key !== undefined && (typeof key !== 'string' || !isValidIdempotencyKey(key))) {
    throw new PublishError(
      'HERALD_ERR_INVALID',
      'idempotencyKey must be 1 to 200 characters (code points) without control characters or unpaired UTF-16 surrogates',
    )
  }
  // Checked when it was made.
  const checked = data instanceof JsonText
  let encoded: string | undefined
  try {
    encoded = checked ? data.text : JSON.stringify(data)
  } catch (error) {
    // A cycle or a BigInt: the caller's data, not a failure to publish.
    throw new PublishError('HERALD_ERR_INVALID', `data must be JSON-serialisable: ${messageOf(error)}`)
  }
  if (encoded === undefined) throw new PublishError('HERALD_ERR_INVALID', 'data must be JSON-serialisable')
  // Every character is 1 to 3 bytes of UTF-8 (a surrogate pair, 2 characters, is 4), so only
  // text between the two bounds needs counting.
  if (
    encoded.length > maxDataBytes ||
    (encoded.length * 3 > maxDataBytes && Buffer.byteLength(encoded) > maxDataBytes)
  ) {
    throw new PublishError(
      'HERALD_ERR_DATA_TOO_LARGE',
      `data is larger than ${maxDataBytes} bytes (${Buffer.byteLength(encoded)} bytes of JSON); publish less, or raise maxDataBytes`,
    )
  }
  if (checked) return { channelKey, type, data: encoded, idempotencyKey: key }
  // The gateway's HTTP publish refuses deeper data, with the same words.
  if (nestsDeeperThan(encoded, MAX_DATA_DEPTH)) {
    throw new PublishError('HERALD_ERR_INVALID', `data must not nest deeper than ${MAX_DATA_DEPTH} levels`)
  }
  let dataIssue: string | undefined
  try {
    dataIssue = dataProblem(data, encoded) ?? jsonTextProblem(data, encoded)
  } catch (error) {
    // The check reads the data again: a getter or toJSON that throws only now.
    throw new PublishError('HERALD_ERR_INVALID', `data must be JSON-serialisable: ${messageOf(error)}`)
  }
  if (dataIssue !== undefined) throw new PublishError('HERALD_ERR_INVALID', `data ${dataIssue}`)
  return { channelKey, type, data: encoded, idempotencyKey: key }
}

const MESSAGE_FIELDS: ReadonlySet<string> = new Set(['target', 'type', 'data', 'idempotencyKey'])
const TARGET_FIELDS: ReadonlySet<string> = new Set(['user', 'topic'])

/**
 * Refuses a field the SDK does not know, as the gateway's HTTP publish does: ignored, a
 * misspelt one (`idempotencykey`) would turn idempotency off without a word, and a retry
 * would publish twice. A loop over the keys rather than `Object.keys`: no array per message.
 */
export function refuseUnknownFields(object: object, known: ReadonlySet<string>, what: string, expected: string): void {
  for (const field in object) {
    if (!known.has(field)) {
      throw new PublishError(
        'HERALD_ERR_INVALID',
        `${what} has an unknown field ${JSON.stringify(field)} (expected ${expected})`,
      )
    }
  }
}

/** The channel key of a target, which must have exactly one of a valid `user` and a valid `topic`. */
export function channelKeyOf(target: Target): string {
  if (target === null || typeof target !== 'object' || Array.isArray(target)) {
    throw new PublishError(
      'HERALD_ERR_INVALID',
      `target must be { user: string } or { topic: string }, not ${kindOf(target)}`,
    )
  }
  refuseUnknownFields(target, TARGET_FIELDS, 'a target', 'user or topic')
  // As the gateway's HTTP publish: a field that is there but null is there.
  const { user, topic } = target as { user?: unknown; topic?: unknown }
  const hasUser = user !== undefined
  if (hasUser === (topic !== undefined)) {
    throw new PublishError('HERALD_ERR_INVALID', 'target must have exactly one of user and topic')
  }
  const name = hasUser ? user : topic
  // A regular expression would read 42 as "42" and ['alice'] as "alice".
  if (typeof name !== 'string') {
    const field = hasUser ? 'user' : 'topic'
    throw new PublishError('HERALD_ERR_INVALID', `target.${field} must be a string, not ${kindOf(name)}`)
  }
  if (hasUser) {
    if (!isValidUserId(name)) throw new PublishError('HERALD_ERR_INVALID', `invalid user id ${JSON.stringify(name)}`)
    return userChannelKey(name)
  }
  if (!isValidTopic(name)) throw new PublishError('HERALD_ERR_INVALID', `invalid topic ${JSON.stringify(name)}`)
  return topicChannelKey(name)
}

/**
 * A JsonText is the whole data or none of it: inside other data JSON.stringify writes it as the
 * object it is, `{"text": "…"}`, and the caller's JSON would reach clients as a string field.
 */
function jsonTextProblem(data: unknown, json: string): string | undefined {
  if (!json.includes('"text":') || !holds(data, (value) => value instanceof JsonText)) return undefined
  return 'must not contain a JsonText: a JsonText is the whole data of a message, never part of it (JSON.stringify would write it as {"text": ...})'
}
