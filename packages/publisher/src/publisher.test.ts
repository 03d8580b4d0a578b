import type { AddressInfo, Socket } from 'node:net'
import { createServer } from 'node:net'
import { inspect } from 'node:util'
import { isAfter, parseStreamId } from '@herald/protocol'
import {
  freePort,
  pollUntil,
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
  startReplicaOf,
} from '@herald/redis-harness'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadHeraldFunctions } from './functions.js'
import { channelSlot, idempotencyKey, streamKey } from './keys.js'
import { type EncodedMessage, encodeMessage, type Message } from './message.js'
import { PublishError } from './publish-error.js'
import { callChainsOf, HeraldPublisher, PUBLISHING_CLIENT_OPTIONS, type PublisherOptions } from './publisher.js'
import { createRedisClient, parseRedisTarget, type RedisTarget } from './redis-target.js'
import { refusalOf } from './test/refusal.js'
import { replyDroppingProxy } from './test/reply-dropping-proxy.js'

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(PublishError)
    return (error as PublishError).code
  }
  return 'none'
}

describe('encodeMessage', () => {
  it('maps targets to channel keys and data to compact JSON', () => {
    expect(encodeMessage({ target: { user: 'alice' }, type: 'a.b', data: { x: [1, 'y\nz'] } })).toEqual({
      channelKey: 'u:alice',
      type: 'a.b',
      data: '{"x":[1,"y\\nz"]}',
      idempotencyKey: undefined,
    })
    expect(encodeMessage({ target: { topic: 'org/1' }, data: null }).channelKey).toBe('t:org/1')
  })

  it('refuses what Herald would refuse, before anything is sent', () => {
    const refusals = [
      { target: { user: 'a b' }, data: 1 },
      { target: { topic: 'x*' }, data: 1 },
      { target: { user: 'a' }, type: 'herald.reset', data: 1 },
      { target: { user: 'a' }, type: 'x\ny', data: 1 },
      { target: { user: 'a' }, data: undefined },
      { target: { user: 'a' }, data: 1, idempotencyKey: '' },
    ]
    for (const message of refusals) {
      expect(() => encodeMessage(message), JSON.stringify(message)).toThrowError(PublishError)
    }
  })

  const refusalOf = (message: Message): string => {
    try {
      encodeMessage(message)
    } catch (error) {
      expect(error).toBeInstanceOf(PublishError)
      expect((error as PublishError).code).toBe('HERALD_ERR_INVALID')
      return (error as PublishError).message
    }
    throw new Error(`expected a refusal of ${JSON.stringify(message)}`)
  }

  it('refuses unpaired surrogates in data keys and strings at any depth, in the type and in the idempotency key', () => {
    const user = { user: 'a' }
    for (const data of ['\ud800', 'x\udfff', { '\udc00': 1 }, [{ a: ['ok', 'b\ud83c'] }], '\\\ud800']) {
      expect(refusalOf({ target: user, data }), JSON.stringify(data)).toMatch(/^data must not contain unpaired/)
    }
    expect(refusalOf({ target: user, type: 'a\ud800', data: 1 })).toMatch(/^type must not contain unpaired/)
    // UTF-8 would make all three "q\ufffd" in Redis: one idempotency key for three messages.
    expect(refusalOf({ target: user, data: 1, idempotencyKey: 'q\ud800' })).toMatch(/^idempotencyKey/)
    expect(refusalOf({ target: user, data: 1, idempotencyKey: 'q\udfff' })).toMatch(/^idempotencyKey/)
    expect(encodeMessage({ target: user, data: 1, idempotencyKey: 'q\ufffd' }).idempotencyKey).toBe('q\ufffd')
  })

  it('keeps valid surrogate pairs and text that merely looks like an escape', () => {
    const data = { '\ud83c\udf89': ['\ud83c\udf89', '\\ud800', '\\\\ud800', 'a\\udfff'] }
    expect(JSON.parse(encodeMessage({ target: { user: 'a' }, data }).data)).toEqual(data)
  })

  it('refuses NaN and Infinity, which JSON.stringify would silently turn into null', () => {
    for (const data of [Number.NaN, Infinity, { a: [1, -Infinity] }, { toJSON: () => ({ n: Number.NaN }) }]) {
      expect(refusalOf({ target: { user: 'a' }, data }), String(data)).toMatch(/^data must not contain NaN or Infinity/)
    }
    expect(encodeMessage({ target: { user: 'a' }, data: { a: null, at: new Date(0) } }).data).toBe(
      '{"a":null,"at":"1970-01-01T00:00:00.000Z"}',
    )
  })

  it('refuses data JSON cannot hold (a cycle, a BigInt) with HERALD_ERR_INVALID', () => {
    const cycle: { self?: unknown } = {}
    cycle.self = cycle
    expect(refusalOf({ target: { user: 'a' }, data: cycle })).toMatch(/^data must be JSON-serialisable/)
    expect(refusalOf({ target: { user: 'a' }, data: 1n })).toMatch(/^data must be JSON-serialisable/)
  })

  it('refuses a Map or a Set anywhere in data, which JSON.stringify writes as {} without its entries', () => {
    for (const data of [new Map([['a', 1]]), { tags: new Set(['x']) }, [new Map()]]) {
      expect(refusalOf({ target: { user: 'a' }, data })).toMatch(/^data must not contain a Map or a Set/)
    }
    expect(encodeMessage({ target: { user: 'a' }, data: { empty: {}, list: [] } }).data).toBe('{"empty":{},"list":[]}')
  })

  it('refuses a Map or a Set with properties of its own, which JSON.stringify writes as them alone', () => {
    const withNote = Object.assign(new Map([['a', 1]]), { note: 1 })
    const withTag = Object.assign(new Set(['x']), { tag: 'x' })
    for (const data of [{ m: withNote }, [withTag], withNote]) {
      expect(refusalOf({ target: { user: 'a' }, data })).toMatch(/^data must not contain a Map or a Set/)
    }
  })

  it('takes a Map whose own toJSON writes its entries', () => {
    class EntriesMap extends Map<string, number> {
      toJSON(): Record<string, number> {
        return Object.fromEntries(this)
      }
    }
    const data = { counts: new EntriesMap([['a', 1]]) }
    expect(encodeMessage({ target: { user: 'a' }, data }).data).toBe('{"counts":{"a":1}}')
  })
})

describe('callChainsOf', () => {
  const to = (channelKey: string): EncodedMessage => ({
    channelKey,
    type: undefined,
    data: '1',
    idempotencyKey: undefined,
  })

  it('keeps a standalone publish in order, 100 messages a call, each call sent at once', () => {
    const messages = Array.from({ length: 250 }, (_, n) => to(`u:user${n % 7}`))
    const chains = callChainsOf(messages, false)
    expect(chains.map((chain) => chain.map((call) => call.length))).toEqual([[100], [100], [50]])
    expect(chains.flat(2)).toEqual(messages.map((_, n) => n))
  })

  it('gives each channel calls of its own in a cluster, in publishing order, one after another', () => {
    const messages = ['u:a', 'u:b', 'u:a', 't:news', 'u:b', 'u:a'].map(to)
    expect(callChainsOf(messages, true)).toEqual([[[0, 2, 5]], [[1, 4]], [[3]]])
    const many = Array.from({ length: 250 }, (_, n) => to(n % 5 === 0 ? 'u:b' : 'u:a'))
    expect(callChainsOf(many, true).map((chain) => chain.map((call) => call.length))).toEqual([[50], [100, 100]])
  })
})

describe('HeraldPublisher on a real Redis', () => {
  let redis: RedisServer
  let publisher: HeraldPublisher
  beforeAll(async () => {
    redis = await startRedis()
    publisher = new HeraldPublisher({ redis: redis.url, historyMaxLen: 50 })
  })
  afterAll(async () => {
    await publisher.close()
    await redis.stop()
  })

  it('connects with RESP2 (ioredis 6 asks for RESP3 unless told)', async () => {
    const client = createRedisClient(parseRedisTarget(redis.url) as RedisTarget)
    try {
      expect(await client.call('CLIENT', 'INFO')).toMatch(/ resp=2\b/)
    } finally {
      await client.quit()
    }
  })

  it('appends to the stream and returns the entry id', async () => {
    const id = await publisher.publish({ user: 'alice' }, 'invoice.paid', { invoice: 42 })
    expect(id).toMatch(/^\d+-\d+$/)
    const entries = await redis.cli('XRANGE', streamKey('u:alice'), '-', '+')
    expect(entries.split('\n')).toEqual([id, 'd', '{"invoice":42}', 't', 'invoice.paid'])
  })

  it('publishes a batch in order, pipelined, with increasing ids', async () => {
    const ids = await publisher.publishBatch(
      Array.from({ length: 100 }, (_, n) => ({ target: { user: 'bob' }, data: n })),
    )
    const stored = (await redis.cli('XRANGE', streamKey('u:bob'), '-', '+')).split('\n').filter((_, i) => i % 5 === 2)
    expect(stored.map(Number)).toEqual(Array.from({ length: 100 }, (_, n) => n).slice(-stored.length))
    const positions = ids.map((id) => parseStreamId(id)!)
    for (const [i, position] of positions.slice(1).entries()) expect(isAfter(position, positions[i]!)).toBe(true)
    expect(Number(await redis.cli('XLEN', streamKey('u:bob')))).toBeLessThanOrEqual(56)
  })

  it('publishes an idempotency key once', async () => {
    const first = await publisher.publish({ topic: 'billing' }, undefined, 'charge', { idempotencyKey: 'order-1' })
    const again = await publisher.publish({ topic: 'billing' }, undefined, 'charge', { idempotencyKey: 'order-1' })
    expect(again).toBe(first)
    expect(await redis.cli('XLEN', streamKey('t:billing'))).toBe('1')
  })

  it('answers an empty batch without a call to Redis', async () => {
    const fcalls = async () => Number(/cmdstat_fcall:calls=(\d+)/.exec(await redis.cli('INFO', 'commandstats'))?.[1])
    const before = await fcalls()
    expect(await publisher.publishBatch([])).toEqual([])
    expect(await fcalls()).toBe(before)
  })

  it('gives the stream its idle TTL and the idempotency key its own, refreshed by every publish', async () => {
    const custom = new HeraldPublisher({ redis: redis.url, historyTtlSeconds: 5_000, idempotencyTtlSeconds: 300 })
    try {
      await custom.publish({ user: 'heidi' }, undefined, 1, { idempotencyKey: 'k-1' })
      await redis.cli('EXPIRE', streamKey('u:heidi'), '10')
      await custom.publishBatch([{ target: { user: 'heidi' }, data: 2 }])
      const streamTtl = Number(await redis.cli('TTL', streamKey('u:heidi')))
      const keyTtl = Number(await redis.cli('TTL', idempotencyKey('u:heidi', 'k-1')))
      expect(streamTtl).toBeGreaterThan(4_990)
      expect(streamTtl).toBeLessThanOrEqual(5_000)
      expect(keyTtl).toBeGreaterThan(290)
      expect(keyTtl).toBeLessThanOrEqual(300)
    } finally {
      await custom.close()
    }
  })

  it('caps a limit too large for Redis instead of expiring the stream at once', async () => {
    const client = new Redis(redis.url)
    try {
      await loadHeraldFunctions(client)
      const stream = streamKey('u:ivan')
      // 10^20 in digits: a limit is digits alone (1e20 takes the default).
      const limits = Array(3).fill(`1${'0'.repeat(20)}`)
      await client.call('FCALL', 'herald_publish', 2, stream, idempotencyKey('u:ivan', 'k'), '', '1', ...limits)
      await client.call('FCALL', 'herald_publish_batch', 1, stream, ...limits, 0, '', '2')
      expect(await redis.cli('XLEN', stream)).toBe('2')
      expect(Number(await redis.cli('TTL', stream))).toBeGreaterThan(999_999_999_000)
      expect(Number(await redis.cli('TTL', idempotencyKey('u:ivan', 'k')))).toBeGreaterThan(999_999_999_000)
    } finally {
      client.disconnect()
    }
  })

  it('publishes an idempotency key once within one batch, too', async () => {
    const message = { target: { topic: 'orders' }, data: 'shipped', idempotencyKey: 'order-9' }
    const [first, again] = await publisher.publishBatch([message, message])
    expect(again).toBe(first)
    expect(await redis.cli('XLEN', streamKey('t:orders'))).toBe('1')
  })

  it('keeps herald_publish, one message a call, for clients in other languages', async () => {
    const client = new Redis(redis.url)
    try {
      const id = await client.call('FCALL', 'herald_publish', 1, streamKey('u:frank'), 'note', '{"n":1}')
      const entries = await redis.cli('XRANGE', streamKey('u:frank'), '-', '+')
      expect(entries.split('\n')).toEqual([id, 'd', '{"n":1}', 't', 'note'])
    } finally {
      client.disconnect()
    }
  })

  it('checks every message of a herald_publish_batch call before appending any', async () => {
    const client = new Redis(redis.url)
    const stream = streamKey('u:grace')
    try {
      const call = (...messages: Array<[idempotent: 0 | 1, type: string, data: string]>) =>
        client.call(
          'FCALL',
          'herald_publish_batch',
          messages.reduce((keys, [idempotent]) => keys + 1 + idempotent, 0),
          ...messages.flatMap(([idempotent]) => (idempotent ? [stream, idempotencyKey('u:grace', 'k')] : [stream])),
          50,
          3600,
          3600,
          ...messages.flat(),
        )
      await expect(call([0, 'a', '{"ok":1}'], [1, 'b', 'not json'])).rejects.toThrow(/^HERALD_ERR_DATA message 2:/)
      await expect(call([0, 'herald.x', '1'])).rejects.toThrow(/^HERALD_ERR_TYPE message 1:/)
      expect(await redis.cli('EXISTS', stream)).toBe('0')
      expect(await call([0, 'a', '1'], [1, 'b', '2'])).toHaveLength(2)
      expect(await redis.cli('XLEN', stream)).toBe('2')
    } finally {
      client.disconnect()
    }
  })

  it('names the message of a batch that breaks a rule, and sends nothing', async () => {
    const messages: Message[] = [
      { target: { user: 'judy' }, data: 1 },
      { target: { user: 'judy' }, data: '\ud800' },
    ]
    await expect(publisher.publishBatch(messages)).rejects.toThrow(/^messages\[1\]: data must not contain unpaired/)
    expect(await redis.cli('EXISTS', streamKey('u:judy'))).toBe('0')
  })

  it("answers a refusal by Redis's functions with HERALD_ERR_INVALID, naming the message in the whole publish", async () => {
    // Encoded without encodeMessage, as the gateway's broker does: the functions are the last check.
    const message = (data: string): EncodedMessage => ({
      channelKey: 'u:ken',
      type: undefined,
      data,
      idempotencyKey: undefined,
    })
    const refusal = async (messages: EncodedMessage[]) => {
      try {
        await publisher.publishEncoded(messages)
      } catch (error) {
        expect(error).toBeInstanceOf(PublishError)
        expect((error as PublishError).code).toBe('HERALD_ERR_INVALID')
        return (error as PublishError).message
      }
      throw new Error('expected a refusal')
    }
    expect(await refusal([message('"\\ud800"')])).toBe(
      'messages[0]: Redis refused the message (HERALD_ERR_DATA): data must be JSON (RFC 8259, in UTF-8, at most 32 levels deep)',
    )
    // 150 messages take two calls; the second call's 21st is the publish's 120th.
    const many = Array.from({ length: 150 }, (_, n) => message(n === 120 ? 'not json' : String(n)))
    expect(await refusal(many)).toMatch(/^messages\[120\]: Redis refused the message \(HERALD_ERR_DATA\)/)
  })

  it('loads the function library again when Redis has lost it', async () => {
    await redis.cli('FUNCTION', 'FLUSH')
    expect(await publisher.publish({ user: 'carol' }, undefined, 1)).toMatch(/^\d+-\d+$/)
  })

  it('fails with HERALD_ERR_NOT_REPLICATED when replicas do not acknowledge', async () => {
    const waiting = new HeraldPublisher({ redis: redis.url, waitForReplicas: { replicas: 1, timeoutMs: 100 } })
    expect(await codeOf(waiting.publish({ user: 'dave' }, undefined, 1))).toBe('HERALD_ERR_NOT_REPLICATED')
    await waiting.close()
  })

  it('fails with HERALD_ERR_NOT_REPLICATED, not as unpublished, when the WAIT itself fails', async () => {
    // A user that may publish but not WAIT: the calls succeed, their confirmation cannot.
    await redis.cli('ACL', 'SETUSER', 'no-wait', 'on', '>no-wait-password', '~*', '&*', '+@all', '-wait')
    const url = new URL(redis.url)
    url.username = 'no-wait'
    url.password = 'no-wait-password'
    const waiting = new HeraldPublisher({ redis: url.href, waitForReplicas: { replicas: 1, timeoutMs: 100 } })
    try {
      const failure = await waiting.publish({ user: 'dora' }, undefined, 1).catch((error: PublishError) => error)
      expect(failure).toBeInstanceOf(PublishError)
      expect((failure as PublishError).code).toBe('HERALD_ERR_NOT_REPLICATED')
      expect((failure as PublishError).message).toMatch(
        /^published, but Redis could not confirm its replication: NOPERM/,
      )
      expect(await redis.cli('XLEN', streamKey('u:dora'))).toBe('1')
    } finally {
      await waiting.close()
    }
  })

  it('fails fast with HERALD_ERR_REDIS while Redis is unreachable', async () => {
    const unreachable = new HeraldPublisher({ redis: 'redis://127.0.0.1:1' })
    expect(await codeOf(unreachable.publish({ user: 'erin' }, undefined, 1))).toBe('HERALD_ERR_REDIS')
    await unreachable.close()
  })

  it('fails with HERALD_ERR_REDIS through Sentinel and Cluster too while nothing answers', async () => {
    for (const url of ['redis+sentinel://127.0.0.1:1/mymaster', 'redis+cluster://127.0.0.1:1']) {
      const unreachable = new HeraldPublisher({ redis: url })
      expect(await codeOf(unreachable.publish({ user: 'erin' }, undefined, 1)), url).toBe('HERALD_ERR_REDIS')
      await unreachable.close()
    }
  })

  it('fails with HERALD_ERR_REDIS after timeoutMs when a server accepts the connection but never answers', async () => {
    // A socket that is never answered: no error, no ready, only the deadline can end the wait.
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as AddressInfo
    const publisher = new HeraldPublisher({ redis: `redis://127.0.0.1:${port}`, timeoutMs: 200 })
    try {
      expect(await codeOf(publisher.publish({ user: 'erin' }, undefined, 1))).toBe('HERALD_ERR_REDIS')
    } finally {
      await publisher.close()
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })

  it('fails a publish that Redis holds past timeoutMs with HERALD_ERR_REDIS, saying it may still be applied', async () => {
    const held = new HeraldPublisher({ redis: redis.url, timeoutMs: 200 })
    try {
      await held.publish({ user: 'paused' }, undefined, 0)
      await redis.cli('CLIENT', 'PAUSE', '30000', 'WRITE')
      const failure = held.publish({ user: 'paused' }, undefined, 1)
      expect(await codeOf(failure)).toBe('HERALD_ERR_REDIS')
      await expect(failure).rejects.toThrow(/may have been applied/)
    } finally {
      await redis.cli('CLIENT', 'UNPAUSE')
      await held.close()
    }
  })

  it('never resends a publish whose reply the dropped connection lost: it fails at once, applied once', async () => {
    // ioredis by default resends the call on the new connection.
    const drop = { armed: false }
    const proxy = await replyDroppingProxy(redis.port, drop)
    const { port } = proxy
    // A deadline far away: the failure must come from the closed connection, not from it.
    const behindProxy = new HeraldPublisher({ redis: `redis://127.0.0.1:${port}`, timeoutMs: 60_000 })
    try {
      await behindProxy.publish({ user: 'once' }, undefined, 'warm')
      drop.armed = true
      const lost = behindProxy.publish({ user: 'once' }, 'order.paid', { order: 1 })
      await expect(lost).rejects.toThrow(
        /connection to Redis closed before it answered; the publish may have been applied/,
      )
      expect(((await lost.catch((error) => error)) as PublishError).timedOut).toBe(false)
      // Reconnected: the next publish goes through, and the lost one was stored once, not twice.
      await pollUntil('a publish after the reconnect', () =>
        behindProxy.publish({ user: 'once' }, undefined, 'after').then(
          (id) => id,
          () => undefined,
        ),
      )
      const entries = (await redis.cli('XRANGE', streamKey('u:once'), '-', '+')).split('\n')
      expect(entries.filter((line) => line === '{"order":1}')).toHaveLength(1)
    } finally {
      await behindProxy.close()
      proxy.close()
    }
  })

  it('says a failed batch may have been applied in part: a call keeps what it appended before a failure', async () => {
    // A key of the wrong type fails the call at its second message, after the first was appended.
    await redis.cli('SET', streamKey('u:wrongtype'), 'not a stream')
    const failure = publisher.publishBatch([
      { target: { user: 'parted' }, data: 1 },
      { target: { user: 'wrongtype' }, data: 2 },
    ])
    await expect(failure).rejects.toThrow(
      /^Redis failed the publish \(.*WRONGTYPE.*\); the publish may have been applied, whole or in part/,
    )
    expect(await redis.cli('XLEN', streamKey('u:parted'))).toBe('1')
  })

  it('takes an ioredis client only if it never resends a command in flight; anything else is refused', async () => {
    const resending = new Redis(redis.url, { lazyConnect: true })
    const pipelining = new Redis(redis.url, {
      lazyConnect: true,
      ...PUBLISHING_CLIENT_OPTIONS,
      enableAutoPipelining: true,
    })
    const nodes = [{ host: '127.0.0.1', port: redis.port }]
    const cluster = new Cluster(nodes, { lazyConnect: true })
    // A Cluster resends a command whose node connection closed, whatever its nodes are told.
    const clusterResending = new Cluster(nodes, { lazyConnect: true, redisOptions: PUBLISHING_CLIENT_OPTIONS })
    // Keys the gateways would never read: prefixed, or in another database.
    const prefixed = new Redis(redis.url, { lazyConnect: true, ...PUBLISHING_CLIENT_OPTIONS, keyPrefix: 'app:' })
    const otherDatabase = new Redis(redis.url, { lazyConnect: true, ...PUBLISHING_CLIENT_OPTIONS, db: 1 })
    const clusterPrefixed = new Cluster(nodes, {
      lazyConnect: true,
      retryDelayOnFailover: 0,
      keyPrefix: 'app:',
      redisOptions: PUBLISHING_CLIENT_OPTIONS,
    })
    const refusals = [
      new URL(redis.url),
      { host: '127.0.0.1', port: redis.port },
      resending,
      pipelining,
      cluster,
      clusterResending,
      prefixed,
      otherDatabase,
      clusterPrefixed,
    ].map((value) => refusalOf(() => new HeraldPublisher({ redis: value as unknown as Redis })))
    const resendRefusal = expect.stringMatching(
      /^HERALD_ERR_INVALID: an ioredis client must be created with autoResendUnfulfilledCommands: false/,
    )
    const keysRefusal =
      "HERALD_ERR_INVALID: an ioredis client must use database 0 without a keyPrefix: the gateways read Herald's keys there, by their own names"
    const clusterRefusal = expect.stringMatching(
      /^HERALD_ERR_INVALID: an ioredis Cluster must be created with retryDelayOnFailover: 0, without enableAutoPipelining, and with redisOptions: PUBLISHING_CLIENT_OPTIONS/,
    )
    expect(await Promise.all(refusals)).toEqual([
      'HERALD_ERR_INVALID: redis must be a Redis URL string or an ioredis client, not a URL',
      'HERALD_ERR_INVALID: redis must be a Redis URL string or an ioredis client, not an object',
      resendRefusal,
      resendRefusal,
      clusterRefusal,
      clusterRefusal,
      keysRefusal,
      keysRefusal,
      keysRefusal,
    ])
    for (const refused of [resending, pipelining, cluster, clusterResending, prefixed, otherDatabase, clusterPrefixed])
      refused.disconnect()
    const client = new Redis(redis.url, PUBLISHING_CLIENT_OPTIONS)
    await new Promise((resolve) => client.once('ready', resolve))
    try {
      const own = new HeraldPublisher({ redis: client })
      expect(await own.publish({ user: 'own' }, undefined, 1)).toMatch(/^\d+-\d+$/)
      await own.close()
      // Not the publisher's to close.
      expect(client.status).toBe('ready')
    } finally {
      client.disconnect()
    }
  })

  it('publishes at once through a client it was given that is still connecting, or not yet (lazyConnect)', async () => {
    const connecting = new Redis(redis.url, PUBLISHING_CLIENT_OPTIONS)
    const lazy = new Redis(redis.url, { ...PUBLISHING_CLIENT_OPTIONS, lazyConnect: true })
    try {
      for (const client of [connecting, lazy]) {
        expect(client.status).not.toBe('ready')
        const publisher = new HeraldPublisher({ redis: client })
        expect(await publisher.publish({ user: 'early' }, undefined, client.status)).toMatch(/^\d+-\d+$/)
        await publisher.close()
      }
      expect(await redis.cli('XLEN', streamKey('u:early'))).toBe('2')
    } finally {
      connecting.disconnect()
      lazy.disconnect()
    }
  })

  it('keeps the password of a refused login out of the error and its cause', async () => {
    const secret = 'not-this-password-8d1f'
    await redis.cli('ACL', 'SETUSER', 'login-probe', 'on', '>the-right-password', '~*', '&*', '+@all')
    const refused = new HeraldPublisher({ redis: `redis://login-probe:${secret}@127.0.0.1:${redis.port}` })
    try {
      const failure = await refused.publish({ user: 'secretive' }, undefined, 1).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(PublishError)
      expect((failure as PublishError).message).toMatch(/WRONGPASS/)
      // What a logger printing causes would print (pino's errWithCause reads the same properties).
      const printed = inspect(failure, { depth: Number.POSITIVE_INFINITY, showHidden: true })
      expect(printed).toMatch(/WRONGPASS/)
      expect(printed).not.toContain(secret)
    } finally {
      await refused.close()
    }
  })

  it('says a publish wrote nothing when the Redis user may not FCALL at all', async () => {
    await redis.cli('ACL', 'SETUSER', 'no-fcall', 'on', '>no-fcall-password', '~*', '&*', '+@all', '-fcall')
    const refused = new HeraldPublisher({ redis: `redis://no-fcall:no-fcall-password@127.0.0.1:${redis.port}` })
    try {
      await expect(refused.publish({ user: 'unfcalled' }, undefined, 1)).rejects.toThrow(
        /^Redis refused the publish \(NOPERM .*'fcall' command\); the call it refused wrote nothing$/,
      )
      expect(await redis.cli('EXISTS', streamKey('u:unfcalled'))).toBe('0')
    } finally {
      await refused.close()
    }
  })

  it('says a publish split over several calls may have been applied in part when one call is refused', async () => {
    // May announce to one user's channel only: the call for the other is refused before it
    // writes, while the call before it, a separate one past 100 messages, is stored.
    await redis.cli(
      'ACL',
      'SETUSER',
      'one-user',
      'on',
      '>one-user-password',
      '~*',
      'resetchannels',
      '&herald:{u:open}:c',
      '+@all',
    )
    const partial = new HeraldPublisher({ redis: `redis://one-user:one-user-password@127.0.0.1:${redis.port}` })
    try {
      const messages = [
        ...Array.from({ length: 100 }, (_, n) => ({ target: { user: 'open' }, data: n })),
        { target: { user: 'shut' }, data: 100 },
      ]
      const failure = await partial.publishBatch(messages).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(PublishError)
      expect((failure as PublishError).code).toBe('HERALD_ERR_REDIS')
      expect((failure as PublishError).message).toMatch(
        /^Redis refused the publish \(HERALD_ERR_NOPERM .*\); the call it refused wrote nothing, but other calls of this publish were sent: the publish may have been applied, whole or in part, so retry it with the same idempotencyKey/,
      )
      expect(await redis.cli('XLEN', streamKey('u:open'))).toBe('100')
      expect(await redis.cli('EXISTS', streamKey('u:shut'))).toBe('0')
    } finally {
      await partial.close()
    }
  })

  it('says a publish wrote nothing when Redis lacks the functions and the Redis user may not load them', async () => {
    await redis.cli('ACL', 'SETUSER', 'no-load', 'on', '>no-load-password', '~*', '&*', '+@all', '-function')
    await redis.cli('FUNCTION', 'FLUSH')
    const refused = new HeraldPublisher({ redis: `redis://no-load:no-load-password@127.0.0.1:${redis.port}` })
    try {
      const failure = await refused.publish({ user: 'unloaded' }, undefined, 1).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(PublishError)
      expect((failure as PublishError).code).toBe('HERALD_ERR_REDIS')
      expect((failure as PublishError).message).toMatch(
        /^Redis does not hold Herald's functions \(library herald v\d+\) and loading them failed \(NOPERM .*'function\|list' command\); the call that needed them wrote nothing$/,
      )
      expect(await redis.cli('EXISTS', streamKey('u:unloaded'))).toBe('0')
    } finally {
      await refused.close()
    }
  })

  it('fails with HERALD_ERR_NOT_REPLICATED, stored once, when the connection closes while its WAIT is pending', async () => {
    const drop = { armed: false }
    const proxy = await replyDroppingProxy(redis.port, drop, 'wait')
    // No replica: the WAIT would block its full timeout, and the proxy cuts the connection first.
    const waiting = new HeraldPublisher({
      redis: `redis://127.0.0.1:${proxy.port}`,
      waitForReplicas: { replicas: 1, timeoutMs: 60_000 },
    })
    try {
      drop.armed = true
      const failure = await waiting.publish({ user: 'unconfirmed' }, undefined, 1).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(PublishError)
      expect((failure as PublishError).code).toBe('HERALD_ERR_NOT_REPLICATED')
      expect((failure as PublishError).message).toBe(
        'published, but the connection to Redis closed before it confirmed the replication',
      )
      expect(drop.armed).toBe(false)
      expect(await redis.cli('XLEN', streamKey('u:unconfirmed'))).toBe('1')
    } finally {
      await waiting.close()
      proxy.close()
    }
  })

  it('close() lets publishes in flight finish, then quits; later publishes fail with HERALD_ERR_CLOSED', async () => {
    const closing = new HeraldPublisher({ redis: redis.url })
    const count = 50
    const publishes = Array.from({ length: count }, (_, n) => closing.publish({ user: 'closer' }, undefined, n))
    await closing.close()
    const ids = await Promise.all(publishes)
    expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true)
    expect(await redis.cli('XLEN', streamKey('u:closer'))).toBe(String(count))
    expect(await codeOf(closing.publish({ user: 'closer' }, undefined, 'late'))).toBe('HERALD_ERR_CLOSED')
    expect(await redis.cli('XLEN', streamKey('u:closer'))).toBe(String(count))
  })

  /** A publisher with this timeout that published once, on a Redis of its own then stopped (SIGSTOP). */
  async function withStoppedRedis(timeoutMs: number, body: (publisher: HeraldPublisher) => Promise<void>) {
    const stopped = await startRedis()
    const publisher = new HeraldPublisher({ redis: stopped.url, timeoutMs })
    try {
      await publisher.publish({ user: 'stuck' }, undefined, 1)
      process.kill(stopped.pid!, 'SIGSTOP')
      await body(publisher)
    } finally {
      process.kill(stopped.pid!, 'SIGCONT')
      await stopped.stop()
    }
  }

  it('close() gives up on a Redis that stopped answering after timeoutMs, instead of waiting for it', async () => {
    await withStoppedRedis(300, async (publisher) => {
      expect(await codeOf(publisher.publish({ user: 'stuck' }, undefined, 2))).toBe('HERALD_ERR_REDIS')
      // Resolves while Redis is still stopped: the QUIT it sends is never answered.
      await publisher.close()
    })
  })

  it('close() with nothing in flight drops a stopped Redis after a second, not after a publish timeout', async () => {
    // Ten minutes: a close() that waited this long for its QUIT would time this test out.
    await withStoppedRedis(600_000, async (publisher) => {
      await publisher.close()
      expect(await codeOf(publisher.publish({ user: 'stuck' }, undefined, 2))).toBe('HERALD_ERR_CLOSED')
    })
  })

  it('takes waitForReplicas: null, from JavaScript callers, as not waiting', async () => {
    const plain = new HeraldPublisher({ redis: redis.url, waitForReplicas: null })
    expect(await plain.publish({ user: 'nullish' }, undefined, 1)).toMatch(/^\d+-\d+$/)
    await plain.close()
  })

  it('refuses waitForReplicas and timeoutMs values Redis would reject, before connecting', () => {
    const bad = [-1, Number.NaN, 1.5, 1e20, Number.POSITIVE_INFINITY]
    const refusalOf = (options: Partial<PublisherOptions>): string => {
      try {
        new HeraldPublisher({ redis: 'redis://127.0.0.1:1', ...options }).close()
      } catch (error) {
        expect(error).toBeInstanceOf(PublishError)
        expect((error as PublishError).code).toBe('HERALD_ERR_INVALID')
        return (error as PublishError).message
      }
      return 'accepted'
    }
    for (const value of [...bad, 0]) {
      expect(refusalOf({ waitForReplicas: { replicas: 1, timeoutMs: value } }), `timeoutMs ${value}`).toMatch(
        /^waitForReplicas\.timeoutMs must be/,
      )
      expect(refusalOf({ timeoutMs: value }), `timeoutMs ${value}`).toMatch(/^timeoutMs must be/)
    }
    for (const value of [...bad, 0]) {
      expect(refusalOf({ waitForReplicas: { replicas: value, timeoutMs: 100 } }), `replicas ${value}`).toMatch(
        /^waitForReplicas\.replicas must be/,
      )
    }
  })
})

describe('HeraldPublisher with waitForReplicas on a replicated Redis', () => {
  let master: RedisServer
  let replica: RedisServer
  beforeAll(async () => {
    master = await startRedis()
    replica = await startReplicaOf(master)
  })
  afterAll(async () => {
    await replica.stop()
    await master.stop()
  })

  it('confirms publishes in flight together with one shared WAIT, sent after all their calls', async () => {
    const publisher = new HeraldPublisher({ redis: master.url, waitForReplicas: { replicas: 1, timeoutMs: 10_000 } })
    const waits = async () =>
      Number(/cmdstat_wait:calls=(\d+)/.exec(await master.cli('INFO', 'commandstats'))?.[1] ?? 0)
    try {
      await publisher.publish({ user: 'warm' }, undefined, 0)
      const before = await waits()
      const count = 50
      const ids = await Promise.all(
        Array.from({ length: count }, (_, n) => publisher.publish({ user: `replicated${n % 5}` }, undefined, n)),
      )
      expect(ids).toHaveLength(count)
      // Confirmed means on the replica: the shared WAIT covered every publish's call.
      const onReplica = await Promise.all(
        Array.from({ length: 5 }, (_, u) => replica.cli('XLEN', streamKey(`u:replicated${u}`))),
      )
      expect(onReplica.map(Number)).toEqual([10, 10, 10, 10, 10])
      // One WAIT per publish would be 50; publishes answered together share theirs.
      expect((await waits()) - before).toBeLessThan(count / 5)
    } finally {
      await publisher.close()
    }
  })
})

describe('HeraldPublisher through Sentinel', () => {
  it('waits for the master Sentinel names, without queueing, and has publishes confirmed by its replica', async () => {
    const setup = await startRedisSentinel()
    const publisher = new HeraldPublisher({ redis: setup.url, waitForReplicas: { replicas: 1, timeoutMs: 10_000 } })
    try {
      // Published before the connection is up: these wait for it instead of failing.
      const ids = await Promise.all([1, 2, 3].map((n) => publisher.publish({ user: 'sam' }, undefined, n)))
      expect(ids).toHaveLength(3)
      const [, replica] = setup.servers
      expect(await replica!.cli('XLEN', streamKey('u:sam'))).toBe('3')
    } finally {
      await publisher.close()
      await setup.stop()
    }
  })
})

describe('HeraldPublisher on a Redis Cluster', () => {
  it('names the seed node it last tried when no seed can be reached, which ioredis reports only as "Connection is closed."', async () => {
    const seeds = [await freePort(), await freePort()]
    const unreachable = new HeraldPublisher({
      redis: `redis+cluster://${seeds.map((p) => `127.0.0.1:${p}`).join(',')}`,
    })
    try {
      const failure = await unreachable.publish({ user: 'nobody' }, undefined, 1).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(PublishError)
      expect((failure as PublishError).message).toMatch(
        new RegExp(
          `^Redis was not connected \\(Failed to refresh slots cache\\. Connection is closed\\. \\(the last node tried: 127\\.0\\.0\\.1:(${seeds.join('|')})\\)\\); nothing was sent$`,
        ),
      )
    } finally {
      await unreachable.close()
    }
  })

  it("names a refused login, which ioredis reports only as 'Failed to refresh slots cache.', and keeps its password out", async () => {
    const cluster = await startRedisCluster()
    const secret = 'not-this-cluster-password-5c2e'
    for (const master of cluster.masters) {
      await master.cli('ACL', 'SETUSER', 'login-probe', 'on', '>the-right-password', '~*', '&*', '+@all')
    }
    const refused = new HeraldPublisher({ redis: cluster.url.replace('://', `://login-probe:${secret}@`) })
    try {
      const failure = await refused.publish({ user: 'secretive' }, undefined, 1).catch((error: unknown) => error)
      expect((failure as PublishError).message).toMatch(
        /^Redis was not connected \(Failed to refresh slots cache\. WRONGPASS .*\); nothing was sent$/,
      )
      const printed = inspect(failure, { depth: Number.POSITIVE_INFINITY, showHidden: true })
      expect(printed).toMatch(/WRONGPASS/)
      expect(printed).not.toContain(secret)
    } finally {
      await refused.close()
      await cluster.stop()
    }
  })

  it("waits for replicas only on the shards a publish wrote to: one shard's missing replica fails no other's", async () => {
    const cluster = await startRedisCluster({ replicasPerMaster: 1 })
    const publisher = new HeraldPublisher({ redis: cluster.url, waitForReplicas: { replicas: 1, timeoutMs: 200 } })
    try {
      // A master whose replica is gone, and a user on it and one elsewhere.
      // A node that is a replica now: a stall on a loaded machine can have promoted the one the
      // harness started as such, and killing that master left its slots with no owner.
      let replica = cluster.replicas[0]!
      for (const node of [...cluster.replicas, ...cluster.masters]) {
        if (/^role:slave\r?$/m.test(await node.cli('INFO', 'replication'))) {
          replica = node
          break
        }
      }
      const masterPort = Number(/^master_port:(\d+)\r?$/m.exec(await replica.cli('INFO', 'replication'))![1])
      await replica.kill()
      const users = Array.from({ length: 40 }, (_, n) => `wait-${n}`)
      const owners = await Promise.all(
        users.map(async (user) => (await cluster.slotOwner(channelSlot(`u:${user}`))).port),
      )
      const alone = users.find((_, i) => owners[i] === masterPort)!
      const replicated = users.find((_, i) => owners[i] !== masterPort)!
      expect(await publisher.publish({ user: replicated }, undefined, 1)).toMatch(/^\d+-\d+$/)
      expect(await codeOf(publisher.publish({ user: alone }, undefined, 1))).toBe('HERALD_ERR_NOT_REPLICATED')
      // Concurrent publishes to both: each counts its own shard's replicas only.
      const [sharedHealthy, sharedShort] = await Promise.allSettled([
        publisher.publish({ user: replicated }, undefined, 3),
        publisher.publish({ user: alone }, undefined, 3),
      ])
      expect(sharedHealthy.status).toBe('fulfilled')
      expect(sharedShort.status === 'rejected' && (sharedShort.reason as PublishError).code).toBe(
        'HERALD_ERR_NOT_REPLICATED',
      )
      // A batch over both waits on both, and the weaker answer counts.
      const batch = publisher.publishBatch([
        { target: { user: replicated }, data: 2 },
        { target: { user: alone }, data: 2 },
      ])
      expect(await codeOf(batch)).toBe('HERALD_ERR_NOT_REPLICATED')
    } finally {
      await publisher.close()
      await cluster.stop()
    }
  })

  it('publishes with an idempotency key through a slot migration, which Redis refuses with TRYAGAIN until it ends', async () => {
    const cluster = await startRedisCluster()
    // The migration is held open past ioredis's retries by polling the masters with redis-cli: on a
    // loaded host that took longer than the default 5 s answer deadline (3 of 6 runs in a probe).
    const publisher = new HeraldPublisher({ redis: cluster.url, timeoutMs: 30_000 })
    try {
      const key = streamKey('u:mover')
      await publisher.publish({ user: 'mover' }, undefined, 0)
      // The stream has moved, its idempotency key exists nowhere: the new owner refuses the call
      // until the slot is its own.
      const outcome = await publishWhileMigrating(cluster, key, () =>
        publisher.publish({ user: 'mover' }, undefined, 1, { idempotencyKey: 'k1' }),
      )
      expect(outcome).toEqual({ value: expect.any(String) })
      const entries = (await (await cluster.slotOwner(await slotOf(cluster, key))).cli('XRANGE', key, '-', '+')).split(
        '\n',
      )
      expect(entries.filter((line) => line === '1')).toHaveLength(1)
    } finally {
      await publisher.close()
      await cluster.stop()
    }
  })

  it("keeps a channel's order across its calls through a slot migration: a later call waits for one TRYAGAIN holds back", async () => {
    const cluster = await startRedisCluster()
    const publisher = new HeraldPublisher({ redis: cluster.url, timeoutMs: 30_000 })
    try {
      const key = streamKey('u:orderly')
      await publisher.publish({ user: 'orderly' }, undefined, -1)
      // Two calls: the first carries an idempotency key that exists nowhere yet, so the new owner
      // refuses it (TRYAGAIN) until the slot is its own; the second has no key of the old owner's
      // missing but the stream, which the migration's ASK lets the new owner take.
      const messages = Array.from({ length: 150 }, (_, n) => ({
        target: { user: 'orderly' },
        data: n,
        ...(n === 0 ? { idempotencyKey: 'first' } : {}),
      }))
      const outcome = await publishWhileMigrating(cluster, key, () => publisher.publishBatch(messages))
      expect(outcome).toEqual({ value: expect.any(Array) })
      const entries = (await (await cluster.slotOwner(await slotOf(cluster, key))).cli('XRANGE', key, '-', '+')).split(
        '\n',
      )
      const data = entries.filter((line) => /^-?\d+$/.test(line) && !/^\d+-\d+$/.test(line)).map(Number)
      expect(data).toEqual([-1, ...Array.from({ length: 150 }, (_, n) => n)])
    } finally {
      await publisher.close()
      await cluster.stop()
    }
  })

  it('says a migration refused it when TRYAGAIN outlasts its deadline, and the same key then publishes it once', async () => {
    const cluster = await startRedisCluster()
    // Two of ioredis's attempts fit (1.6 s each, its 16 tries 100 ms apart), a third does not.
    const timeoutMs = 4_000
    const publisher = new HeraldPublisher({ redis: cluster.url, timeoutMs })
    try {
      const key = streamKey('u:stuck')
      await publisher.publish({ user: 'stuck' }, undefined, 0)
      const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', key))
      const from = await cluster.slotOwner(slot)
      let failure: unknown
      // Held open until the publish has failed: refused for all of its deadline.
      await cluster.moveSlot(slot, cluster.masters.find((master) => master !== from)!, async () => {
        failure = await publisher.publish({ user: 'stuck' }, undefined, 1, { idempotencyKey: 'k1' }).then(
          () => 'published',
          (error: unknown) => error,
        )
      })
      expect(failure).toBeInstanceOf(PublishError)
      const { code, message, timedOut } = failure as PublishError
      expect({ code, timedOut }).toEqual({ code: 'HERALD_ERR_REDIS', timedOut: true })
      // Which of the two depends on whether an attempt was in flight at the deadline
      // (migration-retry.test.ts has the first); neither says Redis did not answer.
      expect(message).toMatch(
        new RegExp(
          `^Redis refused the publish while a Cluster slot migrated \\(TRYAGAIN\\)(?: until its ${timeoutMs} ms deadline; the call it refused wrote nothing|, and an attempt was still unanswered at its ${timeoutMs} ms deadline; the publish may have been applied)`,
        ),
      )
      // The same key publishes it now, once.
      expect(await publisher.publish({ user: 'stuck' }, undefined, 1, { idempotencyKey: 'k1' })).toMatch(/^\d+-\d+$/)
      const entries = (await (await cluster.slotOwner(slot)).cli('XRANGE', key, '-', '+')).split('\n')
      expect(entries.filter((line) => line === '1')).toHaveLength(1)
    } finally {
      await publisher.close()
      await cluster.stop()
    }
  })

  it('never resends a publish whose reply a dropped node connection lost: it fails at once, applied once', async () => {
    // ioredis's Cluster by default sends it again 100 ms later (retryDelayOnFailover) and reports
    // the second id as the publish's: two entries. Each master is reached through a proxy, with
    // the options the publisher gives a Cluster it creates from a URL.
    const cluster = await startRedisCluster()
    const drop = { armed: false }
    const proxies = await Promise.all(cluster.nodes.map((node) => replyDroppingProxy(node.port, drop)))
    const natMap = Object.fromEntries(
      cluster.nodes.map((node, i) => [`${node.host}:${node.port}`, { host: '127.0.0.1', port: proxies[i]!.port }]),
    )
    const fromUrl = createRedisClient(
      parseRedisTarget(cluster.url) as RedisTarget,
      PUBLISHING_CLIENT_OPTIONS,
    ) as Cluster
    fromUrl.disconnect()
    const client = new Cluster(Object.values(natMap), { ...fromUrl.options, natMap } as ConstructorParameters<
      typeof Cluster
    >[1])
    await new Promise((resolve) => client.once('ready', resolve))
    // A deadline far away: the failure must come from the closed connection, not from it.
    const behindProxies = new HeraldPublisher({ redis: client, timeoutMs: 60_000 })
    try {
      await behindProxies.publish({ user: 'once' }, undefined, 'warm')
      drop.armed = true
      const lost = behindProxies.publish({ user: 'once' }, 'order.paid', { order: 1 })
      await expect(lost).rejects.toThrow(/the publish may have been applied/)
      expect(((await lost.catch((error) => error)) as PublishError).timedOut).toBe(false)
      expect(drop.armed).toBe(false)
      await pollUntil('a publish after the reconnect', () =>
        behindProxies.publish({ user: 'once' }, undefined, 'after').then(
          (id) => id,
          () => undefined,
        ),
      )
      const key = streamKey('u:once')
      const owner = await cluster.slotOwner(Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', key)))
      const entries = (await owner.cli('XRANGE', key, '-', '+')).split('\n')
      expect(entries.filter((line) => line === '{"order":1}')).toHaveLength(1)
    } finally {
      await behindProxies.close()
      client.disconnect()
      for (const proxy of proxies) proxy.close()
      await cluster.stop()
    }
  })

  it('publishes across slots and asks every master for WAIT', async () => {
    const cluster = await startRedisCluster()
    const { url } = cluster
    const publisher = new HeraldPublisher({ redis: url })
    const waiting = new HeraldPublisher({ redis: url, waitForReplicas: { replicas: 1, timeoutMs: 100 } })
    const reader = createRedisClient(parseRedisTarget(url) as RedisTarget, {})
    try {
      const users = Array.from({ length: 12 }, (_, i) => `user${i}`)
      const ids = await publisher.publishBatch(
        [1, 2].flatMap((n) => users.map((user) => ({ target: { user }, data: `${user}/${n}` }))),
      )
      expect(ids).toHaveLength(24)
      // Each user's two messages, in the order given, and the ids line up with the messages.
      for (const [i, user] of users.entries()) {
        const entries = (await reader.call('XRANGE', streamKey(`u:${user}`), '-', '+')) as [string, string[]][]
        expect(entries.map(([id, fields]) => [id, fields[1]])).toEqual([
          [ids[i], `"${user}/1"`],
          [ids[12 + i], `"${user}/2"`],
        ])
      }
      expect(await reader.call('CLIENT', 'INFO')).toMatch(/ resp=2\b/)
      const holders = await Promise.all(cluster.masters.map((master) => master.cli('DBSIZE')))
      expect(holders.filter((size) => Number(size) > 0).length).toBeGreaterThan(1)
      // The cluster has no replicas, so no publish can be confirmed as replicated.
      expect(await codeOf(waiting.publish({ user: 'user0' }, undefined, 1))).toBe('HERALD_ERR_NOT_REPLICATED')
    } finally {
      await Promise.all([publisher.close(), waiting.close(), reader.quit()])
      await cluster.stop()
    }
  })
})

/** The Cluster slot of `key`, as Redis computes it. */
async function slotOf(cluster: RedisCluster, key: string): Promise<number> {
  return Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', key))
}

/**
 * Moves `key`'s slot to another master and starts `publish` while it migrates, holding the
 * migration open until the masters have refused calls (TRYAGAIN) past the 17 refusals ioredis's
 * own retries make, or the publish settled. Resolves with its outcome once the slot has moved.
 */
async function publishWhileMigrating<T>(
  cluster: RedisCluster,
  key: string,
  publish: () => Promise<T>,
): Promise<{ value: T } | { error: unknown }> {
  const tryAgains = async () => {
    const stats = await Promise.all(cluster.masters.map((master) => master.cli('INFO', 'errorstats')))
    return stats.reduce((sum, text) => sum + Number(/errorstat_TRYAGAIN:count=(\d+)/.exec(text)?.[1] ?? 0), 0)
  }
  const slot = await slotOf(cluster, key)
  const from = await cluster.slotOwner(slot)
  let outcome: Promise<{ value: T } | { error: unknown }> | undefined
  await cluster.moveSlot(slot, cluster.masters.find((master) => master !== from)!, async () => {
    let settled = false
    outcome = publish().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    )
    void outcome.then(() => {
      settled = true
    })
    await pollUntil('TRYAGAIN past ioredis retries, or the publish settled', async () =>
      settled || (await tryAgains()) > 20 ? true : undefined,
    )
  })
  return outcome!
}
