/**
 * Validation of `POST /v1/publish` bodies, separate from HTTP so every rule
 * is unit-tested. Strict on purpose: unknown and repeated fields are refused (a
 * typo like `usr` must not silently publish nowhere), and every error names the
 * path of the offending field.
 *
 * The body is validated as JSON.parse reads it, but each message's data is
 * stored as its source text, made compact: re-serialising it would round
 * 64-bit ids (12345678901234567890 → 12345678901234567000) and turn -0 into 0,
 * 1.0 into 1 and 1e2 into 100.
 */

import {
  eventTypeProblem,
  isValidIdempotencyKey,
  isValidTopic,
  isValidUserId,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  topicChannelKey,
  userChannelKey,
} from '@herald/protocol'
import {
  duplicateMember,
  itemMemberTexts,
  MAX_DATA_DEPTH,
  memberText,
  nestsDeeperThan,
  sourceDataProblem,
} from '@herald/publisher/internal'
import type { PublishRequest } from '../broker/broker.js'
import { HeraldError } from '../errors/herald-error.js'

export const MAX_BATCH = 1000
/** Deeper than this, no body holds publishable data (see parsePublishBody). */
const MAX_BODY_DEPTH = 2 * MAX_DATA_DEPTH

const MESSAGE_FIELDS = new Set(['user', 'topic', 'type', 'data', 'idempotencyKey'])
export interface ParsedPublish {
  readonly requests: PublishRequest[]
  /** A `{"messages": [...]}` body, answered with `{"ids": [...]}`. */
  readonly batch: boolean
}

/** `text` is the body, decoded (without a byte order mark). */
export function parsePublishBody(text: string): ParsedPublish {
  // Refused before JSON.parse, which took 0.1-0.4 s of the event loop to build 100,000 nested
  // arrays inside the body limit before the data's own depth check refused them (a fuzz probe).
  // Any depth a publish can have passes: data's 32 levels under at most 3 of the body's own.
  if (nestsDeeperThan(text, MAX_BODY_DEPTH)) {
    throw invalid(
      'body',
      `nests deeper than ${MAX_BODY_DEPTH} levels; data must not nest deeper than ${MAX_DATA_DEPTH}`,
    )
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw invalid('body', 'is not valid JSON')
  }
  if (!isPlainObject(body)) throw invalid('body', 'must be a JSON object')
  // JSON.parse keeps the last of repeated fields; a proxy or validator in front may read the
  // first, and the two would disagree on where the message goes.
  const repeated = duplicateMember(text, 'messages')
  if (repeated !== undefined) throw invalid(repeated, 'is given more than once; give each field once')
  if ('messages' in body) {
    const extra = Object.keys(body).filter((key) => key !== 'messages')
    if (extra.length > 0) throw invalid(extra[0]!, 'unknown field next to "messages"')
    const { messages } = body
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH) {
      throw invalid('messages', `must be an array of 1 to ${MAX_BATCH} messages`)
    }
    const sources = itemMemberTexts(text, 'messages', 'data')
    return {
      requests: messages.map((message, i) => parseMessage(message, `messages[${i}]`, sources?.[i])),
      batch: true,
    }
  }
  return { requests: [parseMessage(body, '', memberText(text, 'data'))], batch: false }
}

/** `source` is the compact source text of the message's data. */
function parseMessage(value: unknown, path: string, source: string | undefined): PublishRequest {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`)
  if (!isPlainObject(value)) throw invalid(path, 'must be a JSON object')
  for (const key of Object.keys(value)) {
    if (!MESSAGE_FIELDS.has(key))
      throw invalid(at(key), 'unknown field (expected user or topic, type, data, idempotencyKey)')
  }
  const { user, topic, data, type: givenType, idempotencyKey: givenKey } = value
  // An optional field given as null is left out, as in the SDK: serialisers that write absent
  // optional fields as null (Go pointers, Python None) publish as if they had omitted them.
  const type = givenType ?? undefined
  const idempotencyKey = givenKey ?? undefined
  if ((user === undefined) === (topic === undefined))
    throw invalid(at('user'), 'give exactly one of "user" and "topic"')
  let channelKey: string
  if (user !== undefined) {
    if (typeof user !== 'string' || !isValidUserId(user)) {
      throw invalid(at('user'), 'must be 1 to 128 characters from A-Z a-z 0-9 . _ : @ + = | -')
    }
    channelKey = userChannelKey(user)
  } else {
    if (typeof topic !== 'string' || !isValidTopic(topic)) {
      throw invalid(at('topic'), 'must be 1 to 128 characters from A-Z a-z 0-9 . _ : @ + = | / -')
    }
    channelKey = topicChannelKey(topic)
  }
  if (type !== undefined) {
    if (typeof type !== 'string') throw invalid(at('type'), 'must be a string')
    const problem = eventTypeProblem(type)
    if (problem !== undefined) throw invalid(at('type'), problem)
  }
  if (!('data' in value)) throw invalid(at('data'), 'is required (any JSON value)')
  // The source text, compact, so numbers keep every digit. It is always found in a body
  // JSON.parse accepted; re-serialised data is only a fallback.
  const stored = source ?? JSON.stringify(data)
  if (idempotencyKey !== undefined) {
    if (typeof idempotencyKey !== 'string' || !isValidIdempotencyKey(idempotencyKey)) {
      throw invalid(
        at('idempotencyKey'),
        `must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters (code points), without control characters or unpaired UTF-16 surrogates`,
      )
    }
  }
  // The SDK's rules, so both brokers store (or refuse) the same: a lone surrogate, which JSON
  // escapes allow, would be refused by Redis's functions; 1e400 would be stored as null.
  const problem = sourceDataProblem(data, stored)
  if (problem !== undefined) throw invalid(at('data'), problem)
  return { channelKey, type, data: stored, idempotencyKey }
}

/** A JSON object: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(path: string, message: string): HeraldError {
  return new HeraldError('HERALD_ERR_BODY_INVALID', `${path}: ${message}`)
}
