/**
 * Validation of `POST /v1/publish` bodies, separate from HTTP so every rule
 * is unit-tested. Strict on purpose: unknown fields are refused (a typo like
 * `usr` must not silently publish nowhere), and every error names the path
 * of the offending field.
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
import { dataProblem, MAX_DATA_DEPTH, nestsDeeperThan } from '@herald/publisher'
import type { PublishRequest } from '../broker/broker.js'
import { HeraldError } from '../errors/herald-error.js'
import { hasLoneSurrogateEscape, itemMemberTexts, memberText } from './raw-json.js'

export const MAX_BATCH = 1000

const MESSAGE_FIELDS = new Set(['user', 'topic', 'type', 'data', 'idempotencyKey'])
/**
 * Source text that could hold what dataProblem refuses. A lone surrogate needs a `\u`
 * escape: strict UTF-8 decoding makes none. A number that JSON.parse reads as Infinity
 * needs an exponent or at least 309 digits. Matches in strings only cost the full check.
 */
const MIGHT_HIDE_PROBLEM = /\\u|[0-9][eE]|(?:^|[^0-9])[0-9]{309}/
/** dataProblem's answer for a lone surrogate, worded the same wherever it is found. */
const LONE_SURROGATE_PROBLEM = dataProblem('\ud800', '"\\ud800"')!

export interface ParsedPublish {
  readonly requests: PublishRequest[]
  /** A `{"messages": [...]}` body, answered with `{"ids": [...]}`. */
  readonly batch: boolean
}

/** `text` is the body, decoded (without a byte order mark). */
export function parsePublishBody(text: string): ParsedPublish {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw invalid('body', 'is not valid JSON')
  }
  if (!isPlainObject(body)) throw invalid('body', 'must be a JSON object')
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
  // Counted on the text that is stored, as the SDK counts: it also holds the values of duplicate
  // keys that JSON.parse dropped, which Redis's cjson reads (and refuses past 1,000 levels).
  if (nestsDeeperThan(stored, MAX_DATA_DEPTH)) {
    throw invalid(at('data'), `must not nest deeper than ${MAX_DATA_DEPTH} levels`)
  }
  if (idempotencyKey !== undefined) {
    if (typeof idempotencyKey !== 'string' || !isValidIdempotencyKey(idempotencyKey)) {
      throw invalid(
        at('idempotencyKey'),
        `must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable characters, without unpaired UTF-16 surrogates`,
      )
    }
  }
  // The SDK's rules, so both brokers store (or refuse) the same: a lone surrogate, which JSON
  // escapes allow, would be refused by Redis's functions; 1e400 would be stored as null.
  // Checked as the SDK does, on JSON.stringify's text, only if the source could hide either:
  // that skips re-serialising the usual payload.
  if (source === undefined || MIGHT_HIDE_PROBLEM.test(source)) {
    const problem = dataProblem(data, JSON.stringify(data))
    if (problem !== undefined) throw invalid(at('data'), problem)
    // The source also holds the values of duplicate keys JSON.parse dropped, which Redis reads too.
    if (source !== undefined && hasLoneSurrogateEscape(source)) throw invalid(at('data'), LONE_SURROGATE_PROBLEM)
  }
  return { channelKey, type, data: stored, idempotencyKey }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(path: string, message: string): HeraldError {
  return new HeraldError('HERALD_ERR_BODY_INVALID', `${path}: ${message}`)
}
