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

  it('refuses unpaired surrogates in data keys and strings at any depth, naming the message', () => {
    // JSON.parse turns the escape "\ud800" into a lone surrogate, which UTF-8 (and Redis) cannot hold.
    const lone = [
      '{"user":"a","data":"\\ud800"}',
      '{"user":"a","data":{"\\udfff":1}}',
      '{"user":"a","data":[[{"k":["ok","x\\udc00y"]}]]}',
      '{"user":"a","data":"\\udc00\\ud800"}',
    ]
    for (const text of lone) expect(rejection(JSON.parse(text)), text).toMatch(/^data: must not contain unpaired/)
    const batch = JSON.parse('{"messages":[{"user":"a","data":1},{"user":"a","data":{"x":"\\ud800"}}]}')
    expect(rejection(batch)).toMatch(/^messages\[1\]\.data: must not contain unpaired/)
    expect(rejection(JSON.parse('{"user":"a","data":1,"type":"a\\ud800"}'))).toMatch(/^type: .*unpaired/)
  })

  it('keeps surrogate pairs and text that only looks like an escape', () => {
    const data = JSON.parse('{"\\ud83c\\udf89":["\\ud83c\\udf89","\\\\ud800","\\\\\\\\ud800"]}')
    expect(JSON.parse(parsePublishBody({ user: 'a', data }).requests[0]!.data)).toEqual(data)
  })

  it('refuses idempotency keys that UTF-8 would merge into one (unpaired surrogates)', () => {
    for (const key of ['q\ud800', 'q\udfff']) {
      expect(rejection({ user: 'a', data: 1, idempotencyKey: key })).toMatch(/^idempotencyKey: .*surrogates/)
    }
    expect(parsePublishBody({ user: 'a', data: 1, idempotencyKey: 'q\ufffd' }).requests[0]!.idempotencyKey).toBe(
      'q\ufffd',
    )
  })

  it('refuses numbers JSON.parse reads as Infinity instead of storing null', () => {
    expect(rejection(JSON.parse('{"user":"a","data":1e400}'))).toMatch(/^data: must not contain NaN or Infinity/)
    expect(rejection(JSON.parse('{"user":"a","data":{"n":[null,-1e999]}}'))).toMatch(/^data: .*Infinity/)
    expect(parsePublishBody({ user: 'a', data: [null, 1e308] }).requests[0]!.data).toBe('[null,1e+308]')
  })
})
