import { gzipSync } from 'node:zlib'
import { streamKey } from '@herald/publisher/internal'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  exchange,
  parse,
  postJson,
  RecordingEventSource,
  recordingLogger,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
} from '../../test/harness.js'

describe('POST /v1/publish refusals in /metrics', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway()
  })
  afterAll(() => gateway.close())

  it('counts each refused request once by reason, and neither a publish nor another path', async () => {
    const json = { 'Content-Type': 'application/json' }
    const send = (method: string, path: string, body: string | undefined, headers: Record<string, string>) =>
      fetch(`${gateway.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) }).then(
        (response) => response.status,
      )
    const withKey = (key: string) => ({ ...json, Authorization: `Bearer ${key}` })
    const statuses = [
      await send('POST', '/v1/publish', '{"user":"a","data":1}', json),
      await send('POST', '/v1/publish', '{"user":"a","data":1}', withKey('a-retired-publish-key')),
      await send('POST', '/v1/publish', '{"messages":[{"user":"a","data":1},{"user":"b","data":2}]}', withKey('x')),
      await send('POST', '/v1/publish', '{"user":"a"}', withKey(TEST_API_KEY)),
      await send('POST', '/v1/publish', 'text', {
        'Content-Type': 'text/plain',
        Authorization: `Bearer ${TEST_API_KEY}`,
      }),
      await send('PUT', '/v1/publish', undefined, withKey(TEST_API_KEY)),
      await send('POST', '/v1/publish', '{"user":"a","data":1}', withKey(TEST_API_KEY)),
      await send('POST', '/v1/publish/', '{"user":"a","data":1}', withKey(TEST_API_KEY)),
    ]
    expect(statuses).toEqual([401, 401, 401, 400, 415, 405, 200, 404])
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/^herald_publish_refusals_total\{reason="auth"\} 3$/m)
    expect(metrics).toMatch(/^herald_publish_refusals_total\{reason="bad_request"\} 3$/m)
    expect(metrics).toMatch(/^herald_messages_published_total 1$/m)
  })
})

describe('POST /v1/publish', () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({
      PUBLISH_API_KEY: `${TEST_API_KEY},second-key-for-rotation`,
      PUBLISH_MAX_BODY_BYTES: '4096',
    })
  })
  afterAll(() => gateway.close())

  const raw = (body: string | Uint8Array, headers: Record<string, string>) =>
    fetch(`${gateway.url}/v1/publish`, { method: 'POST', body, headers }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as any,
    }))
  const auth = { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json' }

  it('answers another method with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await fetch(`${gateway.url}/v1/publish`, { method, headers: auth })
      expect(response.status, method).toBe(405)
      expect(response.headers.get('allow')).toBe('POST')
      expect(((await response.json()) as any).error.code).toBe('HERALD_ERR_METHOD_NOT_ALLOWED')
    }
  })

  it('publishes one message and answers with its id', async () => {
    const { status, body } = await gateway.publish({ user: 'alice', type: 'invoice.paid', data: { n: 1 } })
    expect({ status, body }).toEqual({ status: 200, body: { id: expect.stringMatching(/^\d+-\d+$/) } })
  })

  it('publishes a batch in order and answers with all ids', async () => {
    const client = new RecordingEventSource(gateway.eventsUrl(), {
      token: await gateway.token('batch'),
    })
    await client.waitForReady()
    const result = await gateway.publish({
      messages: [1, 2, 3].map((n) => ({ user: 'batch', data: n })),
    })
    expect(result.status).toBe(200)
    expect(result.body.ids).toHaveLength(3)
    await client.waitForEvents(3)
    expect(client.payloads()).toEqual([1, 2, 3])
    client.close()
  })

  it('delivers data as its publisher wrote it: 64-bit ids, -0, 1.0 and 1e2 keep their text', async () => {
    const client = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('uni') })
    await client.waitForReady()
    // Sent as text: JSON.stringify in the test would round the id before the gateway saw it.
    const single = await gateway.publish('{"user":"uni","data":{"id":12345678901234567890,"neg":-0}}')
    expect(single.status).toBe(200)
    const batch = await gateway.publish(
      '{\n  "messages": [\n    {"user": "uni", "data": [ 1.0, 1e2, {"s": " a \\" b\\\\ "} ] },\n' +
        '    {"user": "uni", "data": {"last": -1.50E+10}}\n  ]\n}\n',
    )
    expect(batch.status).toBe(200)
    await client.waitForEvents(3)
    expect(client.events.map((e) => e.data)).toEqual([
      '{"id":12345678901234567890,"neg":-0}',
      '[1.0,1e2,{"s":" a \\" b\\\\ "}]',
      '{"last":-1.50E+10}',
    ])
    client.close()
  })

  it('accepts either of two keys during rotation', async () => {
    expect((await gateway.publish({ user: 'a', data: 1 }, 'second-key-for-rotation')).status).toBe(200)
  })

  it('refuses a missing or wrong key, and a subscriber token, with 401', async () => {
    const { status, body } = await postJson(`${gateway.url}/v1/publish`, { user: 'a', data: 1 })
    expect({ status, body }).toEqual({
      status: 401,
      body: { error: { code: 'HERALD_ERR_PUBLISH_KEY_MISSING', message: expect.any(String) } },
    })
    expect((await gateway.publish({ user: 'a', data: 1 }, '')).body.error.code).toBe('HERALD_ERR_PUBLISH_KEY_MISSING')
    expect((await gateway.publish({ user: 'a', data: 1 }, 'wrong-key')).body.error.code).toBe(
      'HERALD_ERR_PUBLISH_KEY_INVALID',
    )
    const subscriberToken = await gateway.token('a')
    const asSubscriber = await gateway.publish({ user: 'a', data: 1 }, subscriberToken)
    expect(asSubscriber.status).toBe(401)
    expect(asSubscriber.body.error.code).toBe('HERALD_ERR_PUBLISH_KEY_INVALID')
  })

  it('says how to authenticate on every 401, and on a stream and a publish alike (WWW-Authenticate)', async () => {
    const challenge = async (path: string, init: RequestInit = {}) =>
      (await fetch(`${gateway.url}${path}`, init)).headers.get('www-authenticate')
    const publish = (authorization?: string): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: '{"user":"a","data":1}',
    })
    expect(await challenge('/v1/publish', publish())).toBe('Bearer realm="herald"')
    expect(await challenge('/v1/publish', publish('Bearer wrong-key'))).toBe(
      'Bearer realm="herald", error="invalid_token"',
    )
    expect(await challenge('/v1/events')).toBe('Bearer realm="herald"')
    expect(await challenge('/v1/events', { headers: { authorization: 'Bearer not.a.token' } })).toBe(
      'Bearer realm="herald", error="invalid_token"',
    )
    // Only a 401 challenges: a 400 does not.
    expect(await challenge('/v1/publish', { ...publish(`Bearer ${TEST_API_KEY}`), body: '{' })).toBeNull()
  })

  it('refuses two Authorization headers, or text after the key, as an invalid key that names the form', async () => {
    const body = JSON.stringify({ user: 'a', data: 1 })
    for (const authorization of [
      [`Bearer ${TEST_API_KEY}`, `Bearer ${TEST_API_KEY}`],
      [`Bearer ${TEST_API_KEY} extra`],
      ['Basic dXNlcjpwYXNz'],
    ]) {
      const headers = new Headers({ 'Content-Type': 'application/json' })
      for (const value of authorization) headers.append('Authorization', value)
      const answer = await fetch(`${gateway.url}/v1/publish`, { method: 'POST', headers, body })
      expect([answer.status, ((await answer.json()) as any).error], authorization.join(' | ')).toEqual([
        401,
        {
          code: 'HERALD_ERR_PUBLISH_KEY_INVALID',
          message: expect.stringMatching(/exactly one "Authorization: Bearer <key>"/),
        },
      ])
    }
  })

  it('answers a bad body with 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ data: 1 }, /exactly one of "user" and "topic"/],
      [{ user: 'a b', data: 1 }, /^user:/],
      [{ topic: 'x*', data: 1 }, /^topic:/],
      [{ user: 'a' }, /^data: is required/],
      [{ user: 'a', data: 1, type: 'herald.reset' }, /^type: .*reserved/],
      [
        {
          messages: [
            { user: 'a', data: 1 },
            { user: 'a', data: 1, extra: true },
          ],
        },
        /^messages\[1\]\.extra/,
      ],
      ['[1,2]', /^body: must be a JSON object/],
    ]
    for (const [body, message] of cases) {
      const result = await gateway.publish(body)
      expect(result.status, JSON.stringify(body)).toBe(400)
      expect(result.body.error.code).toBe('HERALD_ERR_BODY_INVALID')
      expect(result.body.error.message).toMatch(message)
    }
  })

  it('answers malformed JSON, invalid UTF-8 and the wrong media type with a clear 4xx', async () => {
    expect(await raw('{"user":', auth)).toEqual({
      status: 400,
      body: { error: { code: 'HERALD_ERR_BODY_INVALID', message: 'body: is not valid JSON' } },
    })
    const invalidUtf8 = new Uint8Array([...Buffer.from('{"user":"a","data":"'), 0xc3, 0x28, ...Buffer.from('"}')])
    expect(await raw(invalidUtf8, auth)).toEqual({
      status: 400,
      body: { error: { code: 'HERALD_ERR_BODY_INVALID', message: 'body: is not valid UTF-8' } },
    })
    expect((await raw('{}', { ...auth, 'Content-Type': 'text/plain' })).body.error.code).toBe('HERALD_ERR_MEDIA_TYPE')
    const gzipped = new Uint8Array(gzipSync('{"user":"a","data":1}'))
    expect(await raw(gzipped, { ...auth, 'Content-Encoding': 'gzip' })).toEqual({
      status: 415,
      body: {
        error: {
          code: 'HERALD_ERR_MEDIA_TYPE',
          message: 'send the body uncompressed: Content-Encoding "gzip" is not supported',
        },
      },
    })
    expect((await raw('{"user":"a","data":1}', { ...auth, 'Content-Encoding': 'identity' })).status).toBe(200)
    expect((await raw('{"user":"a","data":1}', { ...auth, 'Content-Encoding': '' })).body.error.message).toBe(
      'send the body uncompressed: Content-Encoding "" is not supported',
    )
    // JSON is UTF-8: a body declared in another charset would be misread, so it is refused.
    const typed = (type: string) => raw('{"user":"a","data":1}', { ...auth, 'Content-Type': type })
    expect(await typed('application/json; charset=iso-8859-1')).toEqual({
      status: 415,
      body: {
        error: {
          code: 'HERALD_ERR_MEDIA_TYPE',
          message: 'send the body as UTF-8: charset "iso-8859-1" is not supported',
        },
      },
    })
    // Declared twice, each counts: a reader that takes the last would misread this one.
    expect((await typed('application/json; charset=utf-8; charset=latin1')).body.error.message).toBe(
      'send the body as UTF-8: charset "latin1" is not supported',
    )
    for (const type of [
      'application/json; charset=utf-8',
      'application/json;charset="UTF-8"',
      'application/json; charset=utf8',
      'application/json; charset=utf-8; charset=UTF-8',
    ])
      expect((await typed(type)).status, type).toBe(200)
    // A transfer coding other than chunked is compression too, which Node passes on as it is.
    const transferred = (coding: string) =>
      exchange(
        gateway.url,
        Buffer.concat([
          Buffer.from(
            `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${coding}\r\nConnection: close\r\n\r\n${gzipped.length.toString(16)}\r\n`,
          ),
          gzipped,
          Buffer.from('\r\n0\r\n\r\n'),
        ]),
      ).then(parse)
    expect(await transferred('gzip, chunked')).toMatchObject({ status: 415, code: 'HERALD_ERR_MEDIA_TYPE' })
    expect(await transferred('GZIP ,chunked')).toMatchObject({ status: 415, code: 'HERALD_ERR_MEDIA_TYPE' })
  })

  it('answers a body over the limit with 413', async () => {
    const result = await gateway.publish({ user: 'a', data: 'x'.repeat(5000) })
    expect(result.status).toBe(413)
    expect(result.body.error.code).toBe('HERALD_ERR_BODY_TOO_LARGE')
  })

  it('closes the connection after a 413, and says so, since the body was left unread', async () => {
    const { host } = new URL(gateway.url)
    const request =
      `POST /v1/publish HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"user":"a","data":"'
    // The whole answer arrives because the server closes the connection; keep-alive would hang here.
    const answer = parse(await exchange(gateway.url, request))
    expect(answer.status).toBe(413)
    expect(answer.code).toBe('HERALD_ERR_BODY_TOO_LARGE')
    expect(answer.headers).toMatch(/\r\nconnection: close\r\n/)
  })

  it('publishes a repeated idempotency key once', async () => {
    const client = new RecordingEventSource(gateway.eventsUrl(), {
      token: await gateway.token('idem'),
    })
    await client.waitForReady()
    const first = await gateway.publish({ user: 'idem', data: 'charge', idempotencyKey: 'order-1' })
    const second = await gateway.publish({
      user: 'idem',
      data: 'charge',
      idempotencyKey: 'order-1',
    })
    await gateway.publish({ user: 'idem', data: 'marker' })
    expect(second.body.id).toBe(first.body.id)
    await client.waitForEvents(2)
    expect(client.payloads()).toEqual(['charge', 'marker'])
    client.close()
  })
})

describe('POST /v1/publish on Redis and on the embedded broker alike', () => {
  let redis: RedisServer
  let onRedis: TestGateway
  let embedded: TestGateway
  const warnings: string[] = []
  beforeAll(async () => {
    redis = await startRedis()
    onRedis = await startTestGateway({ REDIS_URL: redis.url }, { logger: recordingLogger('warn', warnings).logger })
    embedded = await startTestGateway()
  })
  afterAll(async () => {
    await Promise.all([onRedis?.close(), embedded?.close()])
    await redis?.stop()
  })

  /** Bodies as JSON text: `\ud800` is an escape JSON allows, and JSON.parse makes a lone surrogate of it. */
  const publishText = (gateway: TestGateway, text: string) =>
    fetch(`${gateway.url}/v1/publish`, {
      method: 'POST',
      body: text,
      headers: { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json' },
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))

  it('answers unpaired surrogates and 1e400 with 400 naming the field, and appends nothing', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"user":"s3","data":"\\ud800"}', /^data: must not contain unpaired/],
      ['{"user":"s3","data":{"\\udfff":1}}', /^data: must not contain unpaired/],
      ['{"messages":[{"user":"s3","data":1},{"user":"s3","data":["\\udc00"]}]}', /^messages\[1\]\.data: /],
      ['{"user":"s3","type":"t\\ud800","data":1}', /^type: .*unpaired/],
      ['{"user":"s3","data":1,"idempotencyKey":"q\\ud800"}', /^idempotencyKey: .*surrogates/],
      ['{"user":"s3","data":1e400}', /^data: must not contain NaN or Infinity/],
    ]
    for (const gateway of [onRedis, embedded]) {
      for (const [text, message] of cases) {
        const result = await publishText(gateway, text)
        expect(result.status, text).toBe(400)
        expect(result.body.error.code, text).toBe('HERALD_ERR_BODY_INVALID')
        expect(result.body.error.message, text).toMatch(message)
      }
    }
    expect(await redis.cli('EXISTS', streamKey('u:s3'))).toBe('0')
  })

  it('delivers data as written on Redis too, escapes and all, and refuses a lone surrogate behind a duplicate key', async () => {
    const data = [
      '{"id":12345678901234567890,"neg":-0,"f":[1.0,1e2,1E+2,1e-400]}',
      '["\\ud83c\\udf89","\\uD83C\\uDF89","\\u00e9\\/","\\\\ud800",{"k":1,"k":2}]',
    ]
    for (const gateway of [onRedis, embedded]) {
      const client = new RecordingEventSource(gateway.eventsUrl(), { token: await gateway.token('exact') })
      await client.waitForReady()
      for (const text of data) {
        const result = await publishText(gateway, `{"user":"exact", "data": ${text.replaceAll(',', ' ,\n ')}}`)
        expect(result.status, text).toBe(200)
      }
      const shadowed = await publishText(gateway, '{"user":"exact","data":{"k":"\\ud800","k":"ok"}}')
      expect(shadowed.body.error.message).toMatch(/^data: must not contain unpaired/)
      await client.waitForEvents(data.length)
      expect(client.events.map((e) => e.data)).toEqual(data)
      client.close()
    }
  })

  it('keeps non-ASCII idempotency keys apart on Redis, as on the embedded broker', async () => {
    for (const gateway of [onRedis, embedded]) {
      const ids = new Set<string>()
      for (const key of ['q\ufffd', 'q\u00e9', 'q\ud83c\udf89']) {
        const result = await gateway.publish({ user: 'idem-text', data: key, idempotencyKey: key })
        expect(result.status, key).toBe(200)
        ids.add(result.body.id)
      }
      expect(ids.size).toBe(3)
    }
  })

  it('answers 503 while Redis does not answer instead of waiting for it, and logs it without the payload', async () => {
    const pid = redis.pid!
    const message = { user: 'stopped', data: 'payload-not-for-logs', idempotencyKey: 'stop-1' }
    process.kill(pid, 'SIGSTOP')
    try {
      const result = await onRedis.publish(message)
      expect(result.status).toBe(503)
      expect(result.body.error.code).toBe('HERALD_ERR_BROKER_UNAVAILABLE')
      expect(result.body.error.message).toMatch(/may have been applied/)
      expect(result.headers.get('retry-after')).toBe('1')
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    expect(warnings.some((line) => line.includes('publish failed'))).toBe(true)
    expect(warnings.join('\n')).not.toMatch(/payload-not-for-logs|stop-1/)
    const metrics = await (await fetch(`${onRedis.url}/metrics`)).text()
    expect(metrics).toContain('herald_publish_failures_total{code="broker_unavailable"} 1\n')
    expect(metrics).toContain('herald_publish_failures_total{code="not_replicated"} 0\n')
    // The timed-out publish reached Redis once it woke; the retry with its key appends nothing more.
    const retry = await onRedis.publish(message)
    expect(retry.status).toBe(200)
    expect(await redis.cli('XLEN', streamKey('u:stopped'))).toBe('1')
  })
})
