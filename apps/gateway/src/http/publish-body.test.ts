import { describe, expect, it } from 'vitest'
import { HeraldError } from '../errors/herald-error.js'
import { MAX_BATCH, parsePublishBody } from './publish-body.js'

function rejection(body: unknown): string {
  try {
    parsePublishBody(body)
  } catch (error) {
    expect(error).toBeInstanceOf(HeraldError)
    expect((error as HeraldError).code).toBe('HERALD_ERR_BODY_INVALID')
    return (error as HeraldError).message
  }
  throw new Error('expected a rejection')
}

describe('parsePublishBody', () => {
  it('maps a user message to its channel with compact JSON data', () => {
    expect(parsePublishBody({ user: 'alice', type: 'invoice.paid', data: { a: [1, 'x\ny'] } })).toEqual({
      batch: false,
      requests: [
        {
          channelKey: 'u:alice',
          type: 'invoice.paid',
          data: '{"a":[1,"x\\ny"]}',
          idempotencyKey: undefined,
        },
      ],
    })
  })

  it('accepts a batch and keeps its order', () => {
    const parsed = parsePublishBody({
      messages: [
        { topic: 'news', data: 1 },
        { user: 'bob', data: null, idempotencyKey: 'k' },
      ],
    })
    expect(parsed.batch).toBe(true)
    expect(parsed.requests.map((r) => [r.channelKey, r.data, r.idempotencyKey])).toEqual([
      ['t:news', '1', undefined],
      ['u:bob', 'null', 'k'],
    ])
  })

  it('names the offending field in every rejection', () => {
    expect(rejection(null)).toMatch(/^body: must be a JSON object/)
    expect(rejection([])).toMatch(/^body/)
    expect(rejection({ data: 1 })).toMatch(/exactly one of "user" and "topic"/)
    expect(rejection({ user: 'a', topic: 'b', data: 1 })).toMatch(/exactly one/)
    expect(rejection({ user: 'a b', data: 1 })).toMatch(/^user: must be/)
    expect(rejection({ user: 'a{b}', data: 1 })).toMatch(/^user: must be/)
    expect(rejection({ topic: 'news*', data: 1 })).toMatch(/^topic: must be/)
    expect(rejection({ user: 5, data: 1 })).toMatch(/^user/)
    expect(rejection({ user: 'a' })).toMatch(/^data: is required/)
    expect(rejection({ user: 'a', data: 1, type: 7 })).toMatch(/^type: must be a string/)
    expect(rejection({ user: 'a', data: 1, type: 'x\r\nevent: evil' })).toMatch(/^type: .*line breaks/)
    expect(rejection({ user: 'a', data: 1, type: 'herald.reset' })).toMatch(/^type: .*reserved/)
    expect(rejection({ user: 'a', data: 1, usr: 'b' })).toMatch(/^usr: unknown field/)
    expect(rejection({ user: 'a', data: 1, idempotencyKey: '' })).toMatch(/^idempotencyKey/)
    expect(rejection({ messages: [] })).toMatch(/^messages: must be an array of 1 to/)
    expect(
      rejection({
        messages: Array.from({ length: MAX_BATCH + 1 }, () => ({ user: 'a', data: 1 })),
      }),
    ).toMatch(/^messages/)
    expect(rejection({ messages: [{ user: 'a', data: 1 }, { user: 'a' }] })).toMatch(/^messages\[1\]\.data/)
    expect(rejection({ messages: [{ user: 'a', data: 1 }], user: 'x' })).toMatch(/^user: unknown field next to/)
  })

  it('refuses deeply nested data', () => {
    let deep: unknown = 1
    for (let i = 0; i < 40; i++) deep = [deep]
    expect(rejection({ user: 'a', data: deep })).toMatch(/^data: must not nest deeper/)
  })
})
