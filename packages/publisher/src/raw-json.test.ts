import { describe, expect, it } from 'vitest'
import {
  compactJson,
  duplicateMember,
  hasLoneSurrogateEscape,
  itemMemberTexts,
  JsonText,
  memberText,
} from './raw-json.js'

describe('compactJson', () => {
  it('keeps numbers exactly as written', () => {
    for (const number of [
      '12345678901234567890',
      '-0',
      '1.0',
      '1e2',
      '-1.50E+10',
      '0.1000',
      '1e-400',
      '9007199254740993',
    ]) {
      expect(compactJson(number)).toBe(number)
      expect(compactJson(` \n${number}\t`)).toBe(number)
    }
  })

  it('removes whitespace between tokens at any depth, and nothing else', () => {
    expect(compactJson('{ "a" : [ 1 ,\n\t2 , { "b" :\r\n null } , [ ] , { } ] ,"c":true , "d" : false }')).toBe(
      '{"a":[1,2,{"b":null},[],{}],"c":true,"d":false}',
    )
    expect(compactJson('[\n  [\n    [ 1.0 ]\n  ]\n]')).toBe('[[[1.0]]]')
    expect(compactJson('{"a":1}')).toBe('{"a":1}')
  })

  it('copies strings verbatim: whitespace, quotes, backslashes, brackets and escapes', () => {
    const strings = [
      '" a  b\\t "',
      '"say \\"hi\\" "',
      '"\\\\"',
      '"\\\\\\\\"',
      '"\\\\\\" ]}, "',
      '"{[ ]}"',
      '"\\u00e9\\n\\/\\r"',
      '"é 🎉 \u2028 漢字"',
      '"\\ud83c\\udf89"',
      '""',
    ]
    for (const text of strings) {
      expect(compactJson(text), text).toBe(text)
      const nested = compactJson(`{ "k" : [ ${text} , { ${text} : ${text} } ] }`)
      expect(nested, text).toBe(`{"k":[${text},{${text}:${text}}]}`)
      expect(JSON.parse(nested)).toEqual(JSON.parse(`{ "k" : [ ${text} , { ${text} : ${text} } ] }`))
    }
  })

  it('keeps every duplicate key inside a value (JSON.parse of the result keeps the last, as before)', () => {
    expect(compactJson('{"a":1, "a":2}')).toBe('{"a":1,"a":2}')
  })

  it('matches JSON.stringify for indented output of random values', () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const pieces = ['a', ' ', '"', '\\', '\n', '\t', '{', ']', ':', ',', 'é', '🎉', '\u2028', '\u0000']
    const string = () =>
      Array.from({ length: Math.floor(random() * 6) }, () => pieces[Math.floor(random() * pieces.length)]).join('')
    const value = (depth: number): unknown => {
      const pick = Math.floor(random() * (depth > 3 ? 5 : 7))
      if (pick === 0) return null
      if (pick === 1) return random() < 0.5
      if (pick === 2) return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20)
      if (pick <= 4) return string()
      if (pick === 5) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [string(), value(depth + 1)]))
    }
    for (let i = 0; i < 500; i++) {
      const v = value(0)
      expect(compactJson(JSON.stringify(v, null, i % 2 === 0 ? 2 : '\t'))).toBe(JSON.stringify(v))
      const wrapped = JSON.stringify({ user: 'a', data: v, x: [v] }, null, 1)
      expect(memberText(wrapped, 'data')).toBe(JSON.stringify(v))
    }
  })

  it('keeps a long nesting without recursion', () => {
    const deep = `${'[ '.repeat(100_000)}1${' ]'.repeat(100_000)}`
    expect(compactJson(deep)).toBe(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`)
  })
})

describe('memberText', () => {
  it('finds a top-level member among others, whatever their values', () => {
    const text =
      '{"user":"a","x":{"data":0,"y":[{"data":1}]},"s":"\\"data\\": 2","data":{"id":12345678901234567890},"z":[]}'
    expect(memberText(text, 'data')).toBe('{"id":12345678901234567890}')
    expect(memberText(text, 'user')).toBe('"a"')
    expect(memberText(text, 'missing')).toBeUndefined()
  })

  it('takes the last of duplicate keys, as JSON.parse does', () => {
    expect(memberText('{"data":1,"user":"a","data":[2.0]}', 'data')).toBe('[2.0]')
    expect(memberText('{"data":{"a":1},"data":-0}', 'data')).toBe('-0')
  })

  it('reads key names with escapes as JSON.parse does', () => {
    expect(memberText('{"d\\u0061ta":1.0}', 'data')).toBe('1.0')
    expect(memberText('{"data":1,"\\u0064ata":2,"dat\\u0061":3}', 'data')).toBe('3')
    expect(memberText('{"da\\"ta":1}', 'data')).toBeUndefined()
    expect(memberText('{"data ":1,"dat":2,"\\"data\\"":3}', 'data')).toBeUndefined()
  })

  it('skips whitespace and newlines between every token, and a byte order mark', () => {
    const text = '\r\n {\n\t"user" : "a" ,\n\t"data"\n:\n[ 1 , 2 ]\n,"type":"t"\n}\n'
    expect(memberText(text, 'data')).toBe('[1,2]')
    expect(memberText(`\ufeff${text}`, 'data')).toBe('[1,2]')
    expect(memberText('{ "data" : "x" }', 'data')).toBe('"x"')
    expect(memberText('{"data":true}', 'data')).toBe('true')
    expect(memberText('{"data":null }', 'data')).toBe('null')
  })

  it('has nothing in an empty object or a value that is not an object', () => {
    expect(memberText('{}', 'data')).toBeUndefined()
    expect(memberText(' { } ', 'data')).toBeUndefined()
    expect(memberText('[{"data":1}]', 'data')).toBeUndefined()
    expect(memberText('"data"', 'data')).toBeUndefined()
    expect(memberText('null', 'data')).toBeUndefined()
  })

  it('gives text that JSON.parse reads as JSON.parse read the member', () => {
    const text = '{"user":"é","data":{"a":[1,{"b":"\\\\\\""}],"c":"\\u2028"},"type":"t"}'
    expect(JSON.parse(memberText(text, 'data')!)).toEqual(JSON.parse(text).data)
  })
})

describe('itemMemberTexts', () => {
  it('gives each message object its data, in order', () => {
    const text =
      '{ "messages" : [\n  {"user":"a","data":12345678901234567890},\n  {"data":{"x":[1.0]},"topic":"t"} ,' +
      '{"user":"c","data":"a\\"b","idempotencyKey":"k"}\n] }'
    expect(itemMemberTexts(text, 'messages', 'data')).toEqual(['12345678901234567890', '{"x":[1.0]}', '"a\\"b"'])
  })

  it('has undefined for an item without data or that is not an object', () => {
    expect(itemMemberTexts('{"messages":[{"user":"a"},1,"s",[{"data":1}],null,{}]}', 'messages', 'data')).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    expect(itemMemberTexts('{"messages":[ ]}', 'messages', 'data')).toEqual([])
  })

  it('takes the last of duplicate keys, for the array and inside each item', () => {
    const text = '{"messages":[{"data":1}],"other":[{"data":9}],"messages":[{"data":2,"data":-0},{"data":1e2}]}'
    expect(itemMemberTexts(text, 'messages', 'data')).toEqual(['-0', '1e2'])
  })

  it('has nothing if the member is missing or not an array', () => {
    expect(itemMemberTexts('{"user":"a","data":1}', 'messages', 'data')).toBeUndefined()
    expect(itemMemberTexts('{"messages":{"data":1}}', 'messages', 'data')).toBeUndefined()
    expect(itemMemberTexts('{"messages":[{"data":1}],"messages":"x"}', 'messages', 'data')).toBeUndefined()
    expect(itemMemberTexts('[]', 'messages', 'data')).toBeUndefined()
  })
})

describe('duplicateMember', () => {
  it('names a member the object holds twice, escapes decoded', () => {
    expect(duplicateMember('{"user":"eve","data":1,"user":"bob"}', 'messages')).toBe('user')
    expect(duplicateMember('{"us\\u0065r":"eve","user":"bob"}', 'messages')).toBe('user')
    expect(duplicateMember('{"messages":[],"messages":[]}', 'messages')).toBe('messages')
  })

  it("names a member an item of the array holds twice, with the item's index", () => {
    const batch = '{"messages":[{}, 1, {"user":"a","data":{"x":1,"x":2}}, {"topic":"t","data":1,"topic":"u"}]}'
    expect(duplicateMember(batch, 'messages')).toBe('messages[3].topic')
  })

  it('leaves repeats inside values alone, and finds none in distinct members', () => {
    expect(duplicateMember('{"user":"eve","data":{"a":1,"a":2},"type":"t"}', 'messages')).toBeUndefined()
    expect(duplicateMember(' {"user" : "eve" , "data" : [ "user", "user" ] } ', 'messages')).toBeUndefined()
    expect(duplicateMember('[1,1]', 'messages')).toBeUndefined()
    expect(duplicateMember('{}', 'messages')).toBeUndefined()
  })

  it('looks into no array when none is named, whatever a member is called', () => {
    expect(duplicateMember('{"":[{"k":1,"k":2}],"sub":"a"}')).toBeUndefined()
    expect(duplicateMember('{"":[{"k":1,"k":2}],"sub":"a","sub":"b"}')).toBe('sub')
  })
})

describe('hasLoneSurrogateEscape', () => {
  it('finds a half pair written as an escape, in either case, and nothing else', () => {
    for (const text of ['"\\ud800"', '"\\uDBFF"', '"\\udc00"', '{"\\uDFFF":1}', '"\\udc00\\ud800"', '"\\ud83c x"']) {
      expect(hasLoneSurrogateEscape(text), text).toBe(true)
    }
    for (const text of [
      '"\\ud83c\\udf89"',
      '"\\uD83C\\uDF89"',
      '"\\\\ud800"',
      '"\\\\\\\\ud800"',
      '"\\u00e9"',
      '"🎉"',
      '1',
    ]) {
      expect(hasLoneSurrogateEscape(text), text).toBe(false)
    }
    expect(hasLoneSurrogateEscape('"\\\\\\ud800"')).toBe(true)
  })
})

describe('JsonText', () => {
  it('publishes JSON text as written, compact, and encodeMessage passes it through', async () => {
    const { encodeMessage } = await import('./message.js')
    const data = new JsonText('{ "id": 12345678901234567890, "price": 1.10 }')
    expect(data.text).toBe('{"id":12345678901234567890,"price":1.10}')
    expect(encodeMessage({ target: { user: 'a' }, data }).data).toBe(data.text)
  })

  it('refuses what the rules for data refuse, with HERALD_ERR_INVALID', () => {
    for (const text of ['not json', '1e400', '"\\ud800"', '"x\ud800y"', `${'['.repeat(33)}${']'.repeat(33)}`]) {
      expect(() => new JsonText(text), text).toThrow(expect.objectContaining({ code: 'HERALD_ERR_INVALID' }))
    }
  })
})
