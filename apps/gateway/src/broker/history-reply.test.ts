import { describe, expect, it } from 'vitest'
import { parseHistoryReply } from './history-reply.js'

describe('parseHistoryReply', () => {
  it('passes the two verdicts through, with no entries', () => {
    expect(parseHistoryReply(['trimmed'])).toEqual({ outcome: 'trimmed' })
    expect(parseHistoryReply(['unknown'])).toEqual({ outcome: 'unknown' })
  })

  it('reads entries in order, three strings each, with no type for an empty one', () => {
    const read = parseHistoryReply(['entries', '1700000000000-0', '', '{"a":1}', '1700000000001-3', 'bell', 'x'])
    expect(read).toEqual({
      outcome: 'entries',
      entries: [
        { id: '1700000000000-0', type: undefined, data: '{"a":1}', publishedAtMs: 1_700_000_000_000 },
        { id: '1700000000001-3', type: 'bell', data: 'x', publishedAtMs: 1_700_000_000_001 },
      ],
    })
  })

  it('marks a page that stopped short of the stream as truncated', () => {
    const read = parseHistoryReply(['more', '5-1', '', 'a'])
    expect(read).toEqual({
      outcome: 'entries',
      entries: [{ id: '5-1', type: undefined, data: 'a', publishedAtMs: 5 }],
      truncated: true,
    })
  })

  it('answers an empty history with no entries and not truncated', () => {
    expect(parseHistoryReply(['entries'])).toEqual({ outcome: 'entries', entries: [] })
  })
})
