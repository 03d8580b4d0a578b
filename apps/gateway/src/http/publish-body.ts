/**
 * Validation of `POST /v1/publish` bodies, separate from HTTP so every rule
 * is unit-tested. Strict on purpose: unknown fields are refused (a typo like
 * `usr` must not silently publish nowhere), and every error names the path
 * of the offending field.
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
import { dataProblem } from '@herald/publisher'
import type { PublishRequest } from '../broker/broker.js'
import { HeraldError } from '../errors/herald-error.js'

export const MAX_BATCH = 1000
export const MAX_DATA_DEPTH = 32

const MESSAGE_FIELDS = new Set(['user', 'topic', 'type', 'data', 'idempotencyKey'])

export interface ParsedPublish {
  readonly requests: PublishRequest[]
  /** A `{"messages": [...]}` body, answered with `{"ids": [...]}`. */
  readonly batch: boolean
}

export function parsePublishBody(body: unknown): ParsedPublish {
  if (!isPlainObject(body)) throw invalid('body', 'must be a JSON object')
  if ('messages' in body) {
    const extra = Object.keys(body).filter((key) => key !== 'messages')
    if (extra.length > 0) throw invalid(extra[0]!, 'unknown field next to "messages"')
    const { messages } = body
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH) {
      throw invalid('messages', `must be an array of 1 to ${MAX_BATCH} messages`)
    }
    return {
      requests: messages.map((message, i) => parseMessage(message, `messages[${i}]`)),
      batch: true,
    }
  }
  return { requests: [parseMessage(body, '')], batch: false }
}

function parseMessage(value: unknown, path: string): PublishRequest {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`)
  if (!isPlainObject(value)) throw invalid(path, 'must be a JSON object')
  for (const key of Object.keys(value)) {
    if (!MESSAGE_FIELDS.has(key))
      throw invalid(at(key), 'unknown field (expected user or topic, type, data, idempotencyKey)')
  }
  const { user, topic, type, data, idempotencyKey } = value
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
  if (!withinDepth(data, MAX_DATA_DEPTH))
    throw invalid(at('data'), `must not nest deeper than ${MAX_DATA_DEPTH} levels`)
  if (idempotencyKey !== undefined) {
    if (typeof idempotencyKey !== 'string' || !isValidIdempotencyKey(idempotencyKey)) {
      throw invalid(
        at('idempotencyKey'),
        `must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable characters, without unpaired UTF-16 surrogates`,
      )
    }
  }
  // Re-serialised, so the stored payload is compact JSON with no raw line breaks.
  const json = JSON.stringify(data)
  // The SDK's rules, so both brokers store (or refuse) the same: a lone surrogate, which JSON
  // escapes allow, would be refused by Redis's functions; 1e400 would be stored as null.
  const problem = dataProblem(data, json)
  if (problem !== undefined) throw invalid(at('data'), problem)
  return { channelKey, type, data: json, idempotencyKey }
}

function withinDepth(value: unknown, remaining: number): boolean {
  if (value === null || typeof value !== 'object') return true
  if (remaining === 0) return false
  const children = Array.isArray(value) ? value : Object.values(value)
  return children.every((child) => withinDepth(child, remaining - 1))
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(path: string, message: string): HeraldError {
  return new HeraldError('HERALD_ERR_BODY_INVALID', `${path}: ${message}`)
}
