/**
 * The functions are the contract for publishers in any language, so they must refuse what the
 * SDK and `POST /v1/publish` refuse: data that is not strict JSON, names no subscriber can ask
 * for, types and idempotency keys that break the rules of names.ts. Checked against a real
 * Redis, data against JSON.parse (RFC 8259) over a generated corpus.
 */

import { eventTypeProblem, isValidIdempotencyKey, isValidTopic, isValidUserId } from '@herald/protocol'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadHeraldFunctions } from './functions.js'
import { MAX_DATA_DEPTH, nestsDeeperThan } from './json-data.js'
import { idempotencyKey, streamKey } from './keys.js'

/** What JSON.parse makes of the text, and the rules the SDK adds: finite numbers, no lone surrogates, 32 levels. */
function isPublishableJson(text: string): boolean {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return false
  }
  const clean = (item: unknown): boolean => {
    if (typeof item === 'number') return Number.isFinite(item)
    if (typeof item === 'string') return !/\p{Cs}/u.test(item)
    if (item === null || typeof item !== 'object') return true
    return Object.entries(item).every(([key, child]) => !/\p{Cs}/u.test(key) && clean(child))
  }
  return clean(value) && !nestsDeeperThan(text, MAX_DATA_DEPTH)
}

/** A deterministic generator, so a failure names a case that comes back. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

const PIECES = [
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  '"',
  '"k"',
  '"v"',
  '\\',
  '\\n',
  '\\u00e9',
  '\\ud83d\\ude00',
  '\\ud800',
  '\\x',
  '0',
  '1',
  '7',
  '-',
  '+',
  '.',
  'e',
  'E',
  ' ',
  '\t',
  '\n',
  'true',
  'false',
  'null',
  'nul',
  'NaN',
  'Infinity',
  '0x1F',
  '1e400',
  'é',
  '\u0001',
  '\u007f',
]

describe("the functions' rules", () => {
  let redis: RedisServer
  let client: Redis
  const publish = (stream: string, type: string | Buffer, data: string | Buffer, idempotency?: string) =>
    client
      .call(
        'FCALL',
        'herald_publish',
        idempotency === undefined ? 1 : 2,
        stream,
        ...(idempotency === undefined ? [] : [idempotency]),
        type,
        data,
      )
      .then(
        () => 'ok',
        (error: Error) => error.message.split(' ')[0]!,
      )

  beforeAll(async () => {
    redis = await startRedis()
    client = new Redis(redis.url)
    await loadHeraldFunctions(client)
  })
  afterAll(async () => {
    client.disconnect()
    await redis.stop()
  })

  it('take data exactly when JSON.parse does, with finite numbers, no lone surrogates and 32 levels at most', async () => {
    const next = random(7)
    const corpus = new Set<string>([
      '1',
      '-0',
      '1.0E+2',
      '1e-400',
      '"a\\tb"',
      '{"a":[1,{"b":null}]}',
      ' [ 1 , 2 ] ',
      '"\\/"',
      'NaN',
      'Infinity',
      '-Infinity',
      'inf',
      '0x1F',
      '007',
      '+5',
      '1.',
      '[\n1.]',
      '[1.5,\n2]',
      '{"é":"\\u00e9"}',
      '.5',
      '1e400',
      '-1e400',
      '"a\tb"',
      '"a\nb"',
      '[1,]',
      '{"a":1,}',
      "'a'",
      '"\\ud800"',
      '"\\udc00"',
      '"\\ud800\\u0041"',
      '"\\u12"',
      'tru',
      `${'['.repeat(32)}${']'.repeat(32)}`,
      `${'['.repeat(33)}${']'.repeat(33)}`,
      '"é"',
      '"\u2028"',
      '',
    ])
    while (corpus.size < 1500) {
      const length = 1 + Math.floor(next() * 6)
      corpus.add(Array.from({ length }, () => PIECES[Math.floor(next() * PIECES.length)]).join(''))
    }
    const stream = streamKey('u:corpus')
    const answers = await Promise.all([...corpus].map((text) => publish(stream, '', text)))
    // The corners the functions leave to cjson in text without control characters
    // (docs/redis-contract.md): a dot with no digit on one side, and exponents past a double.
    const hasControl = (text: string) => [...text].some((character) => character.charCodeAt(0) < 0x20)
    const corner = (text: string) => !hasControl(text) && /\d\.(?!\d)|-\.\d|[eE][+-]?\d{3}/.test(text)
    const wrong = [...corpus].filter((text, n) => !corner(text) && (answers[n] === 'ok') !== isPublishableJson(text))
    expect(answers[[...corpus].indexOf('1.')]).toBe('ok')
    expect(answers[[...corpus].indexOf('[\n1.]')]).toBe('HERALD_ERR_DATA')
    expect(wrong).toEqual([])
    expect(answers.filter((answer) => answer !== 'ok').every((answer) => answer === 'HERALD_ERR_DATA')).toBe(true)
  })

  it('take the channel names, types and idempotency keys the SDK takes, and no others', async () => {
    const users = ['alice', 'a.b_c:d@e+f=g|h-i', 'x'.repeat(128), 'x'.repeat(129), 'Alice Smith', 'a/b', 'josé', 'a,b']
    for (const user of users) {
      expect([user, await publish(streamKey(`u:${user}`), '', '1')]).toEqual([
        user,
        isValidUserId(user) ? 'ok' : 'HERALD_ERR_KEY',
      ])
    }
    for (const topic of ['news', 'org/42/billing', 'news,sports', 'org/*', 't'.repeat(129), 'a b']) {
      expect([topic, await publish(streamKey(`t:${topic}`), '', '1')]).toEqual([
        topic,
        isValidTopic(topic) ? 'ok' : 'HERALD_ERR_KEY',
      ])
    }
    const types = [
      'note',
      'x'.repeat(128),
      'x'.repeat(129),
      '日本語'.repeat(14),
      '日本語'.repeat(15),
      'a\u0085b',
      'a\u2028b',
      'a\tb',
      'a\u007fb',
      'herald.x',
      'error',
    ]
    for (const type of types) {
      const expected = eventTypeProblem(type) === undefined ? 'ok' : 'HERALD_ERR_TYPE'
      expect([type, await publish(streamKey('u:types'), type, '1')]).toEqual([type, expected])
    }
    expect(await publish(streamKey('u:types'), Buffer.from([0xfe, 0xff]), '1')).toBe('HERALD_ERR_TYPE')
    const emoji = '\ud83c\udf89'
    for (const key of [
      'k',
      'k'.repeat(200),
      'k'.repeat(201),
      'é'.repeat(200),
      'é'.repeat(201),
      emoji.repeat(200),
      emoji.repeat(201),
      'a\tb',
      'a\u0085b',
    ]) {
      const expected = isValidIdempotencyKey(key) ? 'ok' : 'HERALD_ERR_KEY'
      expect([key, await publish(streamKey('u:keys'), '', '1', idempotencyKey('u:keys', key))]).toEqual([key, expected])
    }
  })

  it('read and tail only the channels a publish takes, by the same rule', async () => {
    const answer = (call: Promise<unknown>) =>
      call.then(
        () => 'ok',
        (error: Error) => error.message.split(' ')[0]!,
      )
    const keys: Array<readonly [string, boolean]> = [
      ...['alice', 'x'.repeat(128), 'x'.repeat(129), 'Alice Smith', 'a/b', 'josé', 'a,b', ''].map(
        (user): [string, boolean] => [streamKey(`u:${user}`), isValidUserId(user)],
      ),
      ...['org/42/billing', 'news,sports', 't'.repeat(129), 'a b'].map((topic): [string, boolean] => [
        streamKey(`t:${topic}`),
        isValidTopic(topic),
      ]),
    ]
    for (const [key, valid] of keys) {
      const expected = valid ? 'ok' : 'HERALD_ERR_KEY'
      const tail = await answer(client.call('FCALL_RO', 'herald_tail', 1, key))
      // One refused key refuses the whole call of herald_tails, wherever it stands.
      const tails = await answer(client.call('FCALL_RO', 'herald_tails', 2, streamKey('u:ok'), key))
      const read = await answer(client.call('FCALL_RO', 'herald_read', 1, key, '1-0', '10', '60'))
      expect([key, tail, tails, read]).toEqual([key, expected, expected, expected])
    }
  })

  it('refuse a herald_publish call with other than one or two keys', async () => {
    const stream = streamKey('u:numkeys')
    const reply = await client
      .call('FCALL', 'herald_publish', 3, stream, idempotencyKey('u:numkeys', 'k'), streamKey('u:other'), '', '1')
      .catch((error: Error) => error.message)
    expect(reply).toMatch(/^HERALD_ERR_ARGS /)
    expect(await client.exists(stream)).toBe(0)
  })

  it('refuse a herald_publish call missing its data, or with arguments past the idempotency TTL', async () => {
    const stream = streamKey('u:numargs')
    for (const args of [[], [''], ['', '1', '10', '60', '60', '1']]) {
      const reply = await client
        .call('FCALL', 'herald_publish', 1, stream, ...args)
        .catch((error: Error) => error.message)
      expect([args.length, reply]).toEqual([args.length, expect.stringMatching(/^HERALD_ERR_ARGS /)])
    }
    expect(await client.exists(stream)).toBe(0)
  })

  it('publish over an idempotency key that holds no entry id, rather than answer it as the id', async () => {
    const stream = streamKey('u:junkkey')
    const key = idempotencyKey('u:junkkey', 'k')
    const batchOfOne = async (data: string) =>
      (
        (await client.call(
          'FCALL',
          'herald_publish_batch',
          2,
          stream,
          key,
          '10',
          '60',
          '60',
          '1',
          '',
          data,
        )) as string[]
      )[0]
    await client.set(key, 'not an id')
    const id = await client.call('FCALL', 'herald_publish', 2, stream, key, '', '1')
    const batchId = await batchOfOne('2')
    expect([id, batchId, await client.get(key), await client.xlen(stream)]).toEqual([
      expect.stringMatching(/^\d+-\d+$/),
      id,
      id,
      1,
    ])
    await client.set(key, 'junk again')
    const fromBatch = await batchOfOne('3')
    expect([fromBatch === id, await client.get(key), await client.xlen(stream)]).toEqual([false, fromBatch, 2])
  })

  it('take a limit of nan as not a number, so as its default: nothing half-written, history trimmed', async () => {
    for (const nan of ['nan', 'NaN', '-nan']) {
      const stream = streamKey(`u:nan${nan}`)
      const key = idempotencyKey(`u:nan${nan}`, 'k')
      const call = (maxlen: string, ttl: string, keyTtl: string) =>
        client.call('FCALL', 'herald_publish', 2, stream, key, '', '1', maxlen, ttl, keyTtl)
      const id = await call('10', nan, '60')
      expect(await call('10', '60', nan)).toBe(id)
      expect([await client.xlen(stream), (await client.ttl(stream)) > 60, await client.ttl(key)]).toEqual([1, true, 60])
      const other = streamKey(`u:nan${nan}2`)
      await client.call(
        'FCALL',
        'herald_publish',
        2,
        other,
        idempotencyKey(`u:nan${nan}2`, 'k'),
        '',
        '1',
        '10',
        '60',
        nan,
      )
      expect(await client.ttl(idempotencyKey(`u:nan${nan}2`, 'k'))).toBeGreaterThan(60)
    }
    // maxlen nan is the default, 1,000, trimmed in batches of 125.
    const trimmed = streamKey('u:nanmaxlen')
    const batch = Array.from({ length: 1200 }, () => ['0', '', '1']).flat()
    await client.call('FCALL', 'herald_publish_batch', 1200, ...Array(1200).fill(trimmed), 'nan', '60', '60', ...batch)
    expect(await client.xlen(trimmed)).toBeLessThanOrEqual(1125)
    const read = (after: string, count: string) =>
      client.call('FCALL_RO', 'herald_read', 1, trimmed, after, count, '60').catch((error: Error) => error.message)
    const [first] = (await client.xrange(trimmed, '-', '+', 'COUNT', 1))[0]!
    expect(((await read(first, 'nan')) as string[]).length).toBe(1 + 3 * 200)
    const [ms] = first.split('-')
    expect(await read(`${ms}-99999999999999999999`, '10')).toMatch(/^HERALD_ERR_ID /)
    // The largest part Redis takes is a position like any other: this one, past the first entry
    // and none of the entries, was never in this history.
    expect(await read(`${ms}-18446744073709551615`, '10')).toEqual(['unknown'])
  })

  it('take a limit only as decimal digits: anything else takes its default, and a huge one counts as 10^12', async () => {
    const DEFAULT_TTL = 604_800
    const DEFAULT_KEY_TTL = 86_400
    // tonumber reads all of these (1, 60, 100, 70, 70, 70, the cap); the contract calls none a whole number.
    const notWhole = ['1.9', '0x3c', '1e2', ' 70', '70 ', '+70', 'inf', '-5', '0', '', '7a', '\u0667']
    for (const [n, limit] of notWhole.entries()) {
      const channel = `u:limit${n}`
      const stream = streamKey(channel)
      const key = idempotencyKey(channel, 'k')
      for (let i = 0; i < 3; i++) {
        await client.call(
          'FCALL',
          'herald_publish',
          i === 0 ? 2 : 1,
          stream,
          ...(i === 0 ? [key] : []),
          '',
          '1',
          limit,
          limit,
          limit,
        )
      }
      // maxlen 1 would have trimmed the third publish.
      expect([limit, await client.xlen(stream)]).toEqual([limit, 3])
      expect([limit, (await client.ttl(stream)) > DEFAULT_TTL - 60]).toEqual([limit, true])
      expect([limit, (await client.ttl(key)) > DEFAULT_KEY_TTL - 60]).toEqual([limit, true])
      // A new stream starts at <ms>-1, so <ms>-0 is a position before all of it.
      const [first] = (await client.xrange(stream, '-', '+', 'COUNT', 1))[0]!
      const before = first.replace(/-1$/, '-0')
      const read = (await client.call('FCALL_RO', 'herald_read', 1, stream, before, limit, limit)) as string[]
      // count 1 would have read one entry; the default is 200.
      expect([limit, read[0], read.length]).toEqual([limit, 'entries', 1 + 3 * 3])
    }
    // Digits count, leading zeros and all, and a huge number counts as 10^12.
    const stream = streamKey('u:limitdigits')
    const key = idempotencyKey('u:limitdigits', 'k')
    await client.call('FCALL', 'herald_publish', 2, stream, key, '', '1', '0003', '0070', '99999999999999999999')
    for (let i = 0; i < 4; i++) await client.call('FCALL', 'herald_publish', 1, stream, '', '1', '0003', '0070')
    expect([await client.xlen(stream), await client.ttl(stream), await client.ttl(key)]).toEqual([3, 70, 1e12])
    const [first] = (await client.xrange(stream, '-', '+', 'COUNT', 1))[0]!
    const read = (await client.call('FCALL_RO', 'herald_read', 1, stream, first, '01', '60')) as string[]
    expect(read.length).toBe(1 + 3)
  })

  it('let a stream grow to maxlen + b, b = min(max(1, maxlen / 8), 1000), then trim it to maxlen, as the contract says', async () => {
    for (const [maxlen, b] of [
      [8, 1],
      [16, 2],
      [40, 5],
    ] as const) {
      const stream = streamKey(`u:grow${maxlen}`)
      const lengths: number[] = []
      for (let n = 0; n < maxlen + b + 1; n++) {
        await client.call('FCALL', 'herald_publish', 1, stream, '', '1', String(maxlen))
        lengths.push(await client.xlen(stream))
      }
      expect(lengths).toEqual([...Array.from({ length: maxlen + b }, (_, n) => n + 1), maxlen])
    }
  })

  it('answer a batch of no messages with an empty array', async () => {
    expect(await client.call('FCALL', 'herald_publish_batch', 0)).toEqual([])
    expect(await client.call('FCALL', 'herald_publish_batch', 0, '1000', '60', '60')).toEqual([])
  })

  it('refuse a batch whose has-idempotency-key flag is neither 0 nor 1', async () => {
    const reply = await client
      .call('FCALL', 'herald_publish_batch', 1, streamKey('u:flags'), 10, 60, 60, 'yes', '', '1')
      .catch((error: Error) => error.message)
    expect(reply).toMatch(/^HERALD_ERR_ARGS message 1:/)
  })
})
