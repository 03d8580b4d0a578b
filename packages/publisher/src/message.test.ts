import { describe, expect, it } from 'vitest'
import { channelKeyOf, encodeMessage, type Target } from './message.js'
import { JsonText } from './raw-json.js'
import { nested } from './test/nested.js'
import { refusalOf } from './test/refusal.js'

describe('encodeMessage: the limits of the gateway HTTP publish', () => {
  const user = { user: 'a' }

  it('refuses data nested deeper than 32 levels, as POST /v1/publish does', async () => {
    expect(encodeMessage({ target: user, data: nested(32) }).data).toBe(JSON.stringify(nested(32)))
    expect(encodeMessage({ target: user, data: nested(31, {}) }).data).toMatch(/\{\}/)
    for (const data of [nested(33), nested(32, []), nested(40), { deep: nested(32) }, { toJSON: () => nested(33) }]) {
      expect(await refusalOf(() => encodeMessage({ target: user, data }))).toBe(
        'HERALD_ERR_INVALID: data must not nest deeper than 32 levels',
      )
    }
    // Only the brackets of objects and arrays count, not those in keys and strings.
    const brackets = '[{'.repeat(40)
    const data = { [brackets]: [brackets, `\\"${brackets}`, `"\\${brackets}`, '\\', '"'], '\\': nested(30) }
    expect(JSON.parse(encodeMessage({ target: user, data }).data)).toEqual(data)
  })

  it('refuses data whose JSON takes more than maxDataBytes bytes of UTF-8 (256 KiB by default)', async () => {
    // JSON.stringify adds the two quotes.
    const text = (bytes: number) => 'x'.repeat(bytes - 2)
    expect(encodeMessage({ target: user, data: text(262_144) }).data).toHaveLength(262_144)
    expect(await refusalOf(() => encodeMessage({ target: user, data: text(262_145) }))).toBe(
      'HERALD_ERR_DATA_TOO_LARGE: data is larger than 262144 bytes (262145 bytes of JSON); publish less, or raise maxDataBytes',
    )
    expect(await refusalOf(() => encodeMessage({ target: user, data: { blob: 'y'.repeat(2 << 20) } }))).toMatch(
      /^HERALD_ERR_DATA_TOO_LARGE: data is larger than 262144 bytes \(2097163 bytes of JSON\)/,
    )
    // Bytes, not characters: "é" is two bytes of UTF-8, an emoji four.
    expect(encodeMessage({ target: user, data: 'é'.repeat(4) }, 10).data).toBe('"éééé"')
    expect(await refusalOf(() => encodeMessage({ target: user, data: 'é'.repeat(5) }, 10))).toMatch(
      /^HERALD_ERR_DATA_TOO_LARGE: data is larger than 10 bytes \(12 bytes/,
    )
    expect(await refusalOf(() => encodeMessage({ target: user, data: '\ud83c\udf89'.repeat(3) }, 10))).toMatch(
      /\(14 bytes/,
    )
  })
})

describe('encodeMessage and JsonText', () => {
  it('writes a JsonText that is the whole data as its text, and refuses one inside other data', async () => {
    expect(encodeMessage({ target: { user: 'a' }, data: new JsonText('{"id":12345678901234567890}') }).data).toBe(
      '{"id":12345678901234567890}',
    )
    for (const data of [{ id: new JsonText('1') }, [new JsonText('1')], { toJSON: () => ({ a: new JsonText('2') }) }]) {
      expect(await refusalOf(() => encodeMessage({ target: { user: 'a' }, data }))).toMatch(
        /^HERALD_ERR_INVALID: data must not contain a JsonText: a JsonText is the whole data of a message/,
      )
    }
    // A field that is only named text is data like any other.
    expect(encodeMessage({ target: { user: 'a' }, data: { text: 'hi' } }).data).toBe('{"text":"hi"}')
  })

  it('refuses, as HERALD_ERR_INVALID, a message whose fields throw when read (a getter, a revoked Proxy)', async () => {
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    const throwing = Object.defineProperty({}, 'user', {
      enumerable: true,
      get() {
        throw new Error('not now')
      },
    })
    expect(await refusalOf(() => encodeMessage({ target: { user: 'a' }, data: revoked.proxy }))).toBe(
      "HERALD_ERR_INVALID: the message could not be read: Cannot perform 'getPrototypeOf' on a proxy that has been revoked",
    )
    expect(await refusalOf(() => encodeMessage({ target: throwing as Target, data: 1 }))).toBe(
      'HERALD_ERR_INVALID: the message could not be read: not now',
    )
  })
})

describe('channelKeyOf', () => {
  it('is typed so that TypeScript refuses a target with both a user and a topic', async () => {
    // @ts-expect-error: a target is a user or a topic, never both (the typecheck fails without the error)
    const both: Target = { user: 'a', topic: 'b' }
    expect(await refusalOf(() => channelKeyOf(both))).toBe(
      'HERALD_ERR_INVALID: target must have exactly one of user and topic',
    )
  })

  it('keys a user and a topic apart, by their names', () => {
    expect(channelKeyOf({ user: 'alice' })).not.toBe(channelKeyOf({ topic: 'alice' }))
    expect(channelKeyOf({ user: 'alice' })).toBe(channelKeyOf({ user: 'alice' }))
    expect(channelKeyOf({ user: 'alice' })).not.toBe(channelKeyOf({ user: 'bob' }))
  })

  it('refuses a target without exactly one valid name, of the right kind, with no other fields', async () => {
    const refusals = await Promise.all(
      [null, [], 'alice', {}, { user: 'a', topic: 'b' }, { user: 42 }, { topic: ['t'] }, { user: 'a', kind: 'x' }].map(
        (target) => refusalOf(() => channelKeyOf(target as never)),
      ),
    )
    expect(refusals).toEqual([
      'HERALD_ERR_INVALID: target must be { user: string } or { topic: string }, not null',
      'HERALD_ERR_INVALID: target must be { user: string } or { topic: string }, not an array',
      'HERALD_ERR_INVALID: target must be { user: string } or { topic: string }, not a string',
      'HERALD_ERR_INVALID: target must have exactly one of user and topic',
      'HERALD_ERR_INVALID: target must have exactly one of user and topic',
      'HERALD_ERR_INVALID: target.user must be a string, not a number',
      'HERALD_ERR_INVALID: target.topic must be a string, not an array',
      'HERALD_ERR_INVALID: a target has an unknown field "kind" (expected user or topic)',
    ])
    expect(await refusalOf(() => channelKeyOf({ user: '' }))).toBe('HERALD_ERR_INVALID: invalid user id ""')
  })
})
