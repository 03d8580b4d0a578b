import { describe, expect, it } from 'vitest'
import { HeraldError } from '../errors/herald-error.js'
import { MAX_BATCH, parsePublishBody } from './publish-body.js'

/** Parses `body` sent as JSON text. */
const parse = (body: unknown) => parsePublishBody(JSON.stringify(body))

function rejection(body: unknown): string {
  return rejectionOfText(JSON.stringify(body))
}

function rejectionOfText(text: string): string {
  try {
    parsePublishBody(text)
  } catch (error) {
    expect(error).toBeInstanceOf(HeraldError)
    expect((error as HeraldError).code).toBe('HERALD_ERR_BODY_INVALID')
    return (error as HeraldError).message
  }
  throw new Error('expected a rejection')
}

describe('parsePublishBody', () => {
  it('maps a user message to its channel with compact JSON data', () => {
    expect(parse({ user: 'alice', type: 'invoice.paid', data: { a: [1, 'x\ny'] } })).toEqual({
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
    const parsed = parse({
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

  it('takes a null type or idempotency key as none, as the SDK does, but not a null user or topic', () => {
    const [request] = parse({ user: 'a', data: 1, type: null, idempotencyKey: null }).requests
    expect([request!.type, request!.idempotencyKey]).toEqual([undefined, undefined])
    expect(rejection({ user: null, data: 1 })).toMatch(/^user: must be/)
    expect(rejection({ topic: null, data: 1 })).toMatch(/^topic: must be/)
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

  it('refuses a body nested far past any publish before parsing it, which took JSON.parse up to 0.4 s', () => {
    const deep = `{"user":"a","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
    expect(rejectionOfText(deep)).toBe('body: nests deeper than 64 levels; data must not nest deeper than 32')
    // The deepest a publish can be still goes: data of 32 levels in a batch.
    const data = `${'['.repeat(31)}{}${']'.repeat(31)}`
    expect(parsePublishBody(`{"messages":[{"user":"a","data":${data}}]}`).requests).toHaveLength(1)
  })

  it('refuses unpaired surrogates in data keys and strings at any depth, naming the message', () => {
    // JSON.parse turns the escape "\ud800" into a lone surrogate, which UTF-8 (and Redis) cannot hold.
    const lone = [
      '{"user":"a","data":"\\ud800"}',
      '{"user":"a","data":{"\\udfff":1}}',
      '{"user":"a","data":[[{"k":["ok","x\\udc00y"]}]]}',
      '{"user":"a","data":"\\udc00\\ud800"}',
    ]
    for (const text of lone) expect(rejectionOfText(text), text).toMatch(/^data: must not contain unpaired/)
    const batch = '{"messages":[{"user":"a","data":1},{"user":"a","data":{"x":"\\ud800"}}]}'
    expect(rejectionOfText(batch)).toMatch(/^messages\[1\]\.data: must not contain unpaired/)
    expect(rejectionOfText('{"user":"a","data":1,"type":"a\\ud800"}')).toMatch(/^type: .*unpaired/)
  })

  it('keeps surrogate pairs and text that only looks like an escape', () => {
    const text = '{"\\ud83c\\udf89":["\\uD83C\\uDF89","\\\\ud800","\\\\\\\\ud800","\\\\\\ud83c\\udf89"]}'
    const data = JSON.parse(text)
    expect(JSON.parse(parse({ user: 'a', data }).requests[0]!.data)).toEqual(data)
    // As written, escapes and all.
    expect(parsePublishBody(`{"user":"a","data":${text}}`).requests[0]!.data).toBe(text)
  })

  it('refuses a field given twice, which JSON.parse would settle by keeping the last', () => {
    expect(rejectionOfText('{"user":"eve","data":1,"user":"bob"}')).toMatch(/^user: is given more than once/)
    expect(rejectionOfText('{"user":"eve","data":1,"d\\u0061ta":2}')).toMatch(/^data: is given more than once/)
    expect(rejectionOfText('{"messages":[{"user":"a","data":1},{"topic":"t","data":1,"topic":"u"}]}')).toMatch(
      /^messages\[1\]\.topic: is given more than once/,
    )
    // Inside data, repeats are the publisher's JSON, stored as written.
    expect(parsePublishBody('{"user":"a","data":{"k":1,"k":2}}').requests[0]!.data).toBe('{"k":1,"k":2}')
  })

  it('refuses data nested too deep in the value of a duplicate key, which JSON.parse drops but the text keeps', () => {
    const deep = `${'['.repeat(40)}${']'.repeat(40)}`
    expect(rejectionOfText(`{"user":"a","data":{"x":${deep},"x":0}}`)).toMatch(/^data: must not nest deeper than 32/)
    expect(rejectionOfText(`{"messages":[{"user":"a","data":1},{"user":"a","data":{"x":${deep},"x":0}}]}`)).toMatch(
      /^messages\[1\]\.data: must not nest deeper than 32/,
    )
    // Exactly 32 levels, the last one inside a duplicate, still goes.
    const limit = `${'['.repeat(31)}${']'.repeat(31)}`
    expect(parsePublishBody(`{"user":"a","data":{"x":${limit},"x":0}}`).requests[0]!.data).toBe(`{"x":${limit},"x":0}`)
  })

  it('refuses a lone surrogate in the value of a duplicate key, which JSON.parse drops but the text keeps', () => {
    expect(rejectionOfText('{"user":"a","data":{"k":"\\ud800","k":"ok"}}')).toMatch(/^data: must not contain unpaired/)
    expect(rejectionOfText('{"user":"a","data":["\\uDC00"]}')).toMatch(/^data: must not contain unpaired/)
    expect(rejectionOfText('{"messages":[{"user":"a","data":1},{"user":"a","data":{"k":"\\uD800x","k":1}}]}')).toMatch(
      /^messages\[1\]\.data: must not contain unpaired/,
    )
  })

  it('stores data as its source text, compact, so numbers keep every digit', () => {
    const data = (text: string) => parsePublishBody(text).requests.map((r) => r.data)
    expect(data('{"user":"uni","data":{"id":12345678901234567890,"neg":-0}}')).toEqual([
      '{"id":12345678901234567890,"neg":-0}',
    ])
    expect(data('{"user":"a","data":[1.0,1e2,-1.5E+10,0.1000]}')).toEqual(['[1.0,1e2,-1.5E+10,0.1000]'])
    expect(data('{\n\t"data" : {\r\n "a b" : [ 1 , "x \\" y" ] } ,\n "user":"a"}\n')).toEqual(['{"a b":[1,"x \\" y"]}'])
    // An escaped key name is the field it spells.
    expect(data('{"user":"a","d\\u0061ta":2.50}')).toEqual(['2.50'])
    expect(
      data('{"messages":[{"user":"a","data":1.0},{"topic":"t","data":{"n":9007199254740993}},{"user":"b","data":-0}]}'),
    ).toEqual(['1.0', '{"n":9007199254740993}', '-0'])
  })

  it('answers text JSON.parse refuses as invalid JSON', () => {
    for (const text of ['', '{', '{"user":"a","data":1,}', '\ufeff{"user":"a","data":1}']) {
      expect(rejectionOfText(text), text).toBe('body: is not valid JSON')
    }
  })

  it('refuses idempotency keys that UTF-8 would merge into one (unpaired surrogates)', () => {
    for (const key of ['q\ud800', 'q\udfff']) {
      expect(rejection({ user: 'a', data: 1, idempotencyKey: key })).toMatch(/^idempotencyKey: .*surrogates/)
    }
    expect(parse({ user: 'a', data: 1, idempotencyKey: 'q\ufffd' }).requests[0]!.idempotencyKey).toBe('q\ufffd')
  })

  it('refuses numbers JSON.parse reads as Infinity instead of storing null', () => {
    expect(rejectionOfText('{"user":"a","data":1e400}')).toMatch(/^data: must not contain NaN or Infinity/)
    expect(rejectionOfText('{"user":"a","data":{"n":[null,-1e999]}}')).toMatch(/^data: .*Infinity/)
    expect(parse({ user: 'a', data: [null, 1e308] }).requests[0]!.data).toBe('[null,1e+308]')
    // Without an exponent: 309 digits can overflow, 308 cannot.
    expect(rejectionOfText(`{"user":"a","data":[-${'9'.repeat(309)}]}`)).toMatch(/^data: .*Infinity/)
    expect(rejectionOfText(`{"user":"a","data":{"n":1${'0'.repeat(400)}.5}}`)).toMatch(/^data: .*Infinity/)
    const long = `[1${'0'.repeat(307)}.${'0'.repeat(400)}1,"${'9'.repeat(400)}"]`
    expect(parsePublishBody(`{"user":"a","data":${long}}`).requests[0]!.data).toBe(long)
  })
})
