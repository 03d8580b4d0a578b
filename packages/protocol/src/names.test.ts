import { describe, expect, it } from 'vitest'
import {
  eventTypeProblem,
  isTopicGranted,
  isValidIdempotencyKey,
  isValidTopic,
  isValidTopicGrant,
  isValidUserId,
} from './names.js'

describe('names', () => {
  it('accepts common user id shapes', () => {
    for (const id of ['alice', 'auth0|5f1c', 'user@example.com', '42', 'org:7/u'.replace('/', '-')]) {
      expect(isValidUserId(id), id).toBe(true)
    }
  })

  it('rejects user ids that could alter a key, a frame or a list', () => {
    for (const id of ['', 'a b', 'a{b}', 'a,b', 'a*', 'a\nb', 'a\rb', 'x'.repeat(129), 'é']) {
      expect(isValidUserId(id), JSON.stringify(id)).toBe(false)
    }
  })

  it('accepts hierarchical topics and rejects wildcards in topics', () => {
    expect(isValidTopic('org/42/billing')).toBe(true)
    expect(isValidTopic('news*')).toBe(false)
    expect(isValidTopic('a,b')).toBe(false)
    expect(isValidTopic('{slot}')).toBe(false)
  })

  it('accepts exact and prefix grants', () => {
    expect(isValidTopicGrant('news')).toBe(true)
    expect(isValidTopicGrant('org/42/*')).toBe(true)
    expect(isValidTopicGrant('*')).toBe(true)
    expect(isValidTopicGrant('a*b')).toBe(false)
    expect(isValidTopicGrant('**')).toBe(false)
  })

  it('grants exact names and trailing-star prefixes only', () => {
    const grants = ['news', 'org/42/*']
    expect(isTopicGranted('news', grants)).toBe(true)
    expect(isTopicGranted('news2', grants)).toBe(false)
    expect(isTopicGranted('org/42/billing', grants)).toBe(true)
    expect(isTopicGranted('org/420', grants)).toBe(false)
    expect(isTopicGranted('anything', ['*'])).toBe(true)
    expect(isTopicGranted('news', [])).toBe(false)
  })

  it('refuses event types with line breaks, control characters or the reserved prefix', () => {
    expect(eventTypeProblem('invoice.paid')).toBeUndefined()
    expect(eventTypeProblem('a\nb')).toMatch(/control/)
    expect(eventTypeProblem('a\rb')).toMatch(/control/)
    expect(eventTypeProblem('a\u2028b')).toMatch(/control/)
    expect(eventTypeProblem('')).toMatch(/1 to 128/)
    expect(eventTypeProblem('herald.reset')).toMatch(/reserved/)
  })

  it("refuses the types a native EventSource dispatches as its own events, and allows SSE's default", () => {
    expect(eventTypeProblem('error')).toMatch(/EventSource reserves/)
    expect(eventTypeProblem('open')).toMatch(/EventSource reserves/)
    // `message` is what an untyped event arrives as, in EventSource and in Herald's parser alike.
    expect(eventTypeProblem('message')).toBeUndefined()
    // Event types are case-sensitive, and only the exact names are EventSource's.
    for (const type of ['Error', 'OPEN', 'error.x', 'app.error', 'opened'])
      expect(eventTypeProblem(type)).toBeUndefined()
  })

  it('refuses event types with unpaired surrogates, and counts the 128 in UTF-8 bytes as Redis does', () => {
    expect(eventTypeProblem('party.\ud83c\udf89')).toBeUndefined()
    for (const type of ['a\ud800', '\udfff', 'a\udc00\ud800b']) expect(eventTypeProblem(type)).toMatch(/surrogate/)
    expect(eventTypeProblem('é'.repeat(64))).toBeUndefined()
    expect(eventTypeProblem('é'.repeat(65))).toMatch(/128 bytes/)
    expect(eventTypeProblem('€'.repeat(43))).toMatch(/128 bytes/)
    expect(eventTypeProblem('\ud83c\udf89'.repeat(32))).toBeUndefined()
    expect(eventTypeProblem(`${'\ud83c\udf89'.repeat(32)}x`)).toMatch(/128 bytes/)
  })

  it('accepts idempotency keys of any well-formed text, up to 200 characters', () => {
    // Characters are code points, as Redis's functions count them: 200 emoji are 400 UTF-16 units.
    for (const key of ['order-1', 'q\ufffd', 'é', '\ud83c\udf89', 'k'.repeat(200), '\ud83c\udf89'.repeat(200)]) {
      expect(isValidIdempotencyKey(key), JSON.stringify(key)).toBe(true)
    }
  })

  it('refuses idempotency keys that UTF-8 would turn into another key (unpaired surrogates)', () => {
    // Encoded for Redis, each of these would become "q\ufffd".
    for (const key of ['q\ud800', 'q\udfff', '\udc00\ud83c', '', 'a\nb', 'k'.repeat(201), '\ud83c\udf89'.repeat(201)]) {
      expect(isValidIdempotencyKey(key), JSON.stringify(key)).toBe(false)
    }
  })

  it('refuses unpaired surrogates in user ids, topics and grants', () => {
    for (const name of ['a\ud800', '\udfff', 'a\ud83c\udf89']) {
      expect(isValidUserId(name), JSON.stringify(name)).toBe(false)
      expect(isValidTopic(name), JSON.stringify(name)).toBe(false)
      expect(isValidTopicGrant(`${name}*`), JSON.stringify(name)).toBe(false)
    }
  })
})
