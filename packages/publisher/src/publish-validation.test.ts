import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { streamKey } from './keys.js'
import type { Message } from './message.js'
import { HeraldPublisher, type PublisherOptions } from './publisher.js'
import { JsonText } from './raw-json.js'
import { nested } from './test/nested.js'
import { refusalOf } from './test/refusal.js'

describe('HeraldPublisher refusing misuse with a PublishError, never a TypeError', () => {
  let redis: RedisServer
  let publisher: HeraldPublisher
  beforeAll(async () => {
    redis = await startRedis()
    publisher = new HeraldPublisher({ redis: redis.url })
  })
  afterAll(async () => {
    await publisher.close()
    await redis.stop()
  })

  /** Calls with argument types TypeScript would refuse, as JavaScript callers can make them. */
  const loose = () =>
    publisher as unknown as Record<'publish' | 'publishBatch', (...args: unknown[]) => Promise<unknown>>

  it('refuses a missing or malformed target', async () => {
    const targets: Array<[unknown, RegExp]> = [
      [null, /^target must be \{ user: string \} or \{ topic: string \}, not null$/],
      [undefined, /^target must be .*, not undefined$/],
      ['alice', /^target must be .*, not a string$/],
      [[{ user: 'alice' }], /^target must be .*, not an array$/],
      [{}, /^target must have exactly one of user and topic$/],
      [{ user: 'alice', topic: 'news' }, /^target must have exactly one of user and topic$/],
      [{ user: 42 }, /^target\.user must be a string, not a number$/],
      // A regex test would read ['alice'] as "alice".
      [{ user: ['alice'] }, /^target\.user must be a string, not an array$/],
      [{ topic: null }, /^target\.topic must be a string, not null$/],
      [{ user: 'alice', topic: null }, /^target must have exactly one of user and topic$/],
      [{ user: 'a b' }, /^invalid user id "a b"$/],
    ]
    for (const [target, message] of targets) {
      const refusal = await refusalOf(() => loose().publish(target, undefined, 1))
      expect(refusal, JSON.stringify(target)).toMatch(/^HERALD_ERR_INVALID: /)
      expect(refusal.slice('HERALD_ERR_INVALID: '.length), JSON.stringify(target)).toMatch(message)
    }
    expect(await redis.cli('KEYS', 'herald:*')).toBe('')
  })

  it('refuses a batch that is not an array of messages, naming the message', async () => {
    for (const messages of [{}, null, undefined, 'ab', 7, new Set([{ target: { user: 'a' }, data: 1 }])]) {
      expect(await refusalOf(() => loose().publishBatch(messages)), String(messages)).toMatch(
        /^HERALD_ERR_INVALID: messages must be an array of messages \(\{ target, type, data, idempotencyKey \}\), not /,
      )
    }
    expect(await refusalOf(() => loose().publishBatch([{ target: { user: 'a' }, data: 1 }, null]))).toBe(
      'HERALD_ERR_INVALID: messages[1]: a message must be an object ({ target, type, data, idempotencyKey }), not null',
    )
    expect(await refusalOf(() => loose().publishBatch(['x']))).toMatch(
      /^HERALD_ERR_INVALID: messages\[0\]: a message must be an obj/,
    )
    // A hole in a sparse array is a message that is not there, in a call of one or of several.
    const message = { target: { user: 'a' }, data: 1 }
    const holed = Array.from({ length: 200 }, () => message)
    delete holed[150]
    const leading = new Array(2)
    leading[1] = message
    for (const [messages, at] of [
      [leading, 0],
      [holed, 150],
    ] as const) {
      expect(await refusalOf(() => loose().publishBatch(messages))).toBe(
        `HERALD_ERR_INVALID: messages[${at}]: a message must be an object ({ target, type, data, idempotencyKey }), not undefined`,
      )
    }
    expect(await redis.cli('KEYS', 'herald:*')).toBe('')
  })

  it('refuses data that is not what JSON.stringify would write as it is, whatever it is or throws', async () => {
    const user = { user: 'a' }
    const refusals = {
      boxedNaN: await refusalOf(() => publisher.publish(user, undefined, { price: new Number(Number.NaN) })),
      boxedInfinity: await refusalOf(() => publisher.publish(user, undefined, [new Number(Number.POSITIVE_INFINITY)])),
      throwsNull: await refusalOf(() =>
        publisher.publish(user, undefined, {
          toJSON() {
            throw null
          },
        }),
      ),
      // Read fine by JSON.stringify, then throwing when the check reads it again.
      throwsOnSecondRead: await refusalOf(() => {
        let reads = 0
        return publisher.publish(user, undefined, {
          get price() {
            if (++reads > 1) throw new Error('read twice')
            return null
          },
        })
      }),
    }
    expect(refusals).toEqual({
      boxedNaN:
        'HERALD_ERR_INVALID: data must not contain NaN or Infinity (JSON has no such numbers; 1e400 is Infinity)',
      boxedInfinity:
        'HERALD_ERR_INVALID: data must not contain NaN or Infinity (JSON has no such numbers; 1e400 is Infinity)',
      throwsNull: 'HERALD_ERR_INVALID: data must be JSON-serialisable: null',
      throwsOnSecondRead: 'HERALD_ERR_INVALID: data must be JSON-serialisable: read twice',
    })
    for (const text of [null, 123, undefined]) {
      expect(await refusalOf(() => new JsonText(text as unknown as string))).toBe(
        `HERALD_ERR_INVALID: data must be JSON text, a string, not ${String(text) === '123' ? 'a number' : String(text)}`,
      )
    }
    expect(await redis.cli('KEYS', 'herald:*')).toBe('')
  })

  it('refuses a type, an idempotency key or options of the wrong kind', async () => {
    const user = { user: 'a' }
    expect(await refusalOf(() => loose().publish(user, 42, 1))).toBe(
      'HERALD_ERR_INVALID: type must be a string (or undefined or null for none), not a number',
    )
    expect(await refusalOf(() => loose().publish(user, undefined, 1, { idempotencyKey: 42 }))).toMatch(
      /^HERALD_ERR_INVALID: idempotencyKey must be 1 to 200 characters/,
    )
    expect(await refusalOf(() => loose().publish(user, undefined, 1, 'key'))).toBe(
      'HERALD_ERR_INVALID: options must be an object ({ idempotencyKey }), not a string',
    )
    // A Map's entries are no fields: its key would be dropped, and a retry would publish twice.
    expect(await refusalOf(() => loose().publish(user, undefined, 1, new Map([['idempotencyKey', 'k']])))).toBe(
      'HERALD_ERR_INVALID: options must be an object ({ idempotencyKey }), not a Map',
    )
    expect(await refusalOf(() => loose().publish(user, undefined, 1, []))).toBe(
      'HERALD_ERR_INVALID: options must be an object ({ idempotencyKey }), not an array',
    )
    expect(await redis.cli('KEYS', 'herald:*')).toBe('')
  })

  it('refuses a field it does not know, so a misspelt idempotency key cannot turn idempotency off', async () => {
    const user = { user: 'a' }
    expect(await refusalOf(() => loose().publish(user, undefined, 1, { idempotency_key: 'once' }))).toBe(
      'HERALD_ERR_INVALID: publish options has an unknown field "idempotency_key" (expected idempotencyKey)',
    )
    expect(await refusalOf(() => loose().publishBatch([{ target: user, data: 1, idempotencykey: 'once' }]))).toBe(
      'HERALD_ERR_INVALID: messages[0]: a message has an unknown field "idempotencykey" (expected target, type, data and idempotencyKey)',
    )
    expect(await refusalOf(() => loose().publish({ user: 'a', tenant: 'b' }, undefined, 1))).toBe(
      'HERALD_ERR_INVALID: a target has an unknown field "tenant" (expected user or topic)',
    )
    expect(await refusalOf(() => new HeraldPublisher({ redis: redis.url, timeout: 100 } as PublisherOptions))).toMatch(
      /^HERALD_ERR_INVALID: publisher options has an unknown field "timeout" \(expected redis, historyMaxLen, /,
    )
    const misspeltWait = { redis: redis.url, waitForReplicas: { replicas: 1, timeoutMs: 100, timeout: 5 } }
    expect(await refusalOf(() => new HeraldPublisher(misspeltWait as PublisherOptions))).toBe(
      'HERALD_ERR_INVALID: waitForReplicas has an unknown field "timeout" (expected replicas and timeoutMs)',
    )
    expect(await redis.cli('KEYS', 'herald:*')).toBe('')
  })

  it('takes a null type, idempotency key or options, from JavaScript callers, as leaving them out', async () => {
    const untyped = await publisher.publish({ user: 'nullish' }, undefined, 1)
    const nullType = await loose().publish({ user: 'nullish' }, null, 2, null)
    const batch = await loose().publishBatch([
      { target: { user: 'nullish' }, type: null, data: 3, idempotencyKey: null },
    ])
    const [batched] = batch as string[]
    // redis-cli's output loses the last empty type.
    expect(await redis.cli('XRANGE', streamKey('u:nullish'), '-', '+')).toBe(
      [untyped, 'd', '1', 't', '', nullType, 'd', '2', 't', '', batched, 'd', '3', 't'].join('\n'),
    )
    expect(await redis.cli('KEYS', 'herald:*:i:*')).toBe('')
  })

  it('refuses oversized or too deeply nested data before anything reaches Redis', async () => {
    expect(await refusalOf(() => publisher.publish({ user: 'big' }, undefined, { blob: 'x'.repeat(2 << 20) }))).toMatch(
      /^HERALD_ERR_DATA_TOO_LARGE: data is larger than 262144 bytes/,
    )
    expect(await refusalOf(() => publisher.publish({ user: 'big' }, undefined, nested(40)))).toBe(
      'HERALD_ERR_INVALID: data must not nest deeper than 32 levels',
    )
    const batch: Message[] = [
      { target: { user: 'big' }, data: 1 },
      { target: { user: 'big' }, data: 'x'.repeat(300_000) },
    ]
    expect(await refusalOf(() => publisher.publishBatch(batch))).toMatch(
      /^HERALD_ERR_DATA_TOO_LARGE: messages\[1\]: data is larger than 262144 bytes/,
    )
    expect(await redis.cli('EXISTS', streamKey('u:big'))).toBe('0')
  })

  it('publishes up to maxDataBytes, and refuses past it', async () => {
    const small = new HeraldPublisher({ redis: redis.url, maxDataBytes: 10 })
    const large = new HeraldPublisher({ redis: redis.url, maxDataBytes: 1 << 20 })
    try {
      expect(await small.publish({ user: 'sized' }, undefined, '12345678')).toMatch(/^\d+-\d+$/)
      expect(await refusalOf(() => small.publish({ user: 'sized' }, undefined, '123456789'))).toMatch(
        /^HERALD_ERR_DATA_TOO_LARGE: data is larger than 10 bytes \(11 bytes of JSON\)/,
      )
      expect(await large.publish({ user: 'sized' }, undefined, 'x'.repeat(500_000))).toMatch(/^\d+-\d+$/)
      expect(await redis.cli('XLEN', streamKey('u:sized'))).toBe('2')
    } finally {
      await Promise.all([small.close(), large.close()])
    }
  })

  it('refuses maxDataBytes values that are not a whole number of bytes, before connecting', async () => {
    for (const value of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 29 + 1, '1000', null]) {
      const options = { redis: 'redis://127.0.0.1:1', maxDataBytes: value } as unknown as PublisherOptions
      expect(await refusalOf(() => new HeraldPublisher(options).close()), String(value)).toBe(
        'HERALD_ERR_INVALID: maxDataBytes must be a whole number of bytes from 1 to 536870912',
      )
    }
    await new HeraldPublisher({ redis: 'redis://127.0.0.1:1', maxDataBytes: 536_870_912 }).close()
  })

  it('refuses history and idempotency limits that are not whole numbers from 1, before connecting', async () => {
    for (const name of ['historyMaxLen', 'historyTtlSeconds', 'idempotencyTtlSeconds']) {
      for (const value of [0, -5, 1.5, Number.NaN, 1e13, '100']) {
        const options = { redis: 'redis://127.0.0.1:1', [name]: value } as unknown as PublisherOptions
        expect(await refusalOf(() => new HeraldPublisher(options).close()), `${name} ${value}`).toBe(
          `HERALD_ERR_INVALID: ${name} must be a whole number from 1 to 1000000000000`,
        )
      }
    }
    await new HeraldPublisher({ redis: 'redis://127.0.0.1:1', historyMaxLen: 1, historyTtlSeconds: 1e12 }).close()
  })

  it('refuses missing options, or a missing redis, with a PublishError', async () => {
    for (const options of [undefined, null, 'redis://127.0.0.1:1']) {
      expect(
        await refusalOf(() => new HeraldPublisher(options as unknown as PublisherOptions)),
        String(options),
      ).toMatch(/^HERALD_ERR_INVALID: options must be an object \(\{ redis, \.\.\. \}\), not /)
    }
    // Entries and items are no properties: named as what they are, not as a missing redis.
    for (const [options, kind] of [
      [new Map([['redis', 'redis://127.0.0.1:1']]), 'a Map'],
      [['redis://127.0.0.1:1'], 'an array'],
    ] as const) {
      expect(await refusalOf(() => new HeraldPublisher(options as unknown as PublisherOptions))).toBe(
        `HERALD_ERR_INVALID: options must be an object ({ redis, ... }), not ${kind}`,
      )
    }
    for (const redis of [undefined, null, 6379]) {
      const options = { redis } as unknown as PublisherOptions
      expect(await refusalOf(() => new HeraldPublisher(options)), String(redis)).toBe(
        `HERALD_ERR_INVALID: redis must be a Redis URL string or an ioredis client, not ${redis === 6379 ? 'a number' : redis}`,
      )
    }
  })
})
