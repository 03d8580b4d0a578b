import { describe, expect, it } from 'vitest'
import { eventTypeProblem, isTopicGranted, isValidTopic, isValidTopicGrant, isValidUserId } from './names.js'

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
})
