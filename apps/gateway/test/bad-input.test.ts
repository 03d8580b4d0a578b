/**
 * The bad-input corpus: hostile and malformed tokens, headers, resume positions,
 * topics and publish bodies, each sent to a live gateway. Every case must get a clear
 * 4xx with a JSON error code, or a correct stream; never a 5xx, never a crash.
 */

import http from 'node:http'
import { isValidIdempotencyKey, isValidTopic, isValidTopicGrant, isValidUserId } from '@herald/protocol'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  RecordingEventSource,
  signToken,
  startTestGateway,
  TEST_API_KEY,
  TEST_SECRET,
  type TestGateway,
} from './harness.js'

interface Answer {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

/** One request over a raw socket (so headers fetch would refuse can be sent); streams are read up to herald.ready. */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (response) => {
      let body = ''
      const contentType = String(response.headers['content-type'] ?? '')
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
        if (contentType === 'text/event-stream' && /event: herald\.ready\n[\s\S]*?\n\n/.test(body)) req.destroy()
      })
      const done = () => resolve({ status: response.statusCode ?? 0, contentType, body })
      response.on('end', done)
      response.on('close', done)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** What an HTTP client may send in a header value. */
const HEADER_SAFE = /^[\t\x20-\x7e]*$/

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const future = () => Math.floor(Date.now() / 1000) + 3600

function tokenCases(): Array<[string, Promise<string> | string]> {
  const header = { alg: 'HS256', typ: 'JWT' }
  const unsigned = (h: unknown, p: unknown) => `${b64(h)}.${b64(p)}.${b64('sig')}`
  const cases: Array<[string, Promise<string> | string]> = []
  for (const alg of [
    'none',
    'None',
    'NONE',
    'nOnE',
    '',
    'HS1',
    'RS256',
    'ES256',
    'PS256',
    'EdDSA',
    'HS256 ',
    null,
    7,
    ['HS256'],
  ]) {
    cases.push([`alg ${JSON.stringify(alg)}`, `${b64({ alg, typ: 'JWT' })}.${b64({ sub: 'a', exp: future() })}.`])
    cases.push([`alg ${JSON.stringify(alg)} signed-looking`, unsigned({ alg }, { sub: 'a', exp: future() })])
  }
  for (const kid of [
    '../../etc/passwd',
    '/dev/null',
    '',
    'x'.repeat(2000),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, meant literally
    '${jndi:ldap://x}',
    "' OR 1=1 --",
    null,
    12,
    {},
  ]) {
    cases.push([`kid ${JSON.stringify(kid).slice(0, 30)}`, unsigned({ ...header, kid }, { sub: 'a', exp: future() })])
  }
  const payloads: unknown[] = [
    {},
    { sub: 'a' },
    { exp: future() },
    { sub: 1, exp: future() },
    { sub: '', exp: future() },
    { sub: 'a b', exp: future() },
    { sub: 'a{b}', exp: future() },
    { sub: 'x'.repeat(500), exp: future() },
    { sub: ['a'], exp: future() },
    { sub: 'a', exp: 'tomorrow' },
    { sub: 'a', exp: -1 },
    { sub: 'a', exp: 1e308 },
    { sub: 'a', exp: future(), nbf: future() },
    { sub: 'a', exp: future(), topics: 'news' },
    { sub: 'a', exp: future(), topics: [1, 2] },
    { sub: 'a', exp: future(), topics: ['**'] },
    { sub: 'a', exp: future(), topics: ['{x}'] },
    { sub: 'a', exp: future(), topics: [null] },
  ]
  for (const payload of payloads) {
    cases.push([`unsigned ${JSON.stringify(payload).slice(0, 40)}`, unsigned(header, payload)])
    cases.push([`signed ${JSON.stringify(payload).slice(0, 40)}`, signWith(payload)])
  }
  for (const garbage of [
    '',
    '.',
    '..',
    '...',
    'a.b',
    'a.b.c.d',
    'a.b.c.d.e',
    '@@@.###.$$$',
    `${b64('{')}.${b64('{')}.x`,
    `${b64('[]')}.${b64('[]')}.x`,
    `${b64('null')}.${b64('null')}.x`,
    `${b64(header)}.${'A'.repeat(9000)}.x`,
    'Bearer x',
    '🔔.🔔.🔔',
    'eyJ',
    `${b64(header)}.${b64({ sub: 'a', exp: future() })}.${'A'.repeat(43)}`,
  ]) {
    cases.push([`garbage ${JSON.stringify(garbage).slice(0, 30)}`, garbage])
  }
  cases.push(['another secret', signToken('a', {}, 'another-secret-that-is-32-bytes-long!!')])
  cases.push(['expired', signToken('a', { expiresIn: Math.floor(Date.now() / 1000) - 60 })])
  return cases
}

function signWith(payload: unknown): Promise<string> {
  const header = b64({ alg: 'HS256', typ: 'JWT' })
  const body = b64(payload)
  return import('node:crypto').then(({ createHmac }) => {
    const signature = createHmac('sha256', TEST_SECRET).update(`${header}.${body}`).digest('base64url')
    return `${header}.${body}.${signature}`
  })
}

const GARBAGE_STRINGS = [
  '',
  ' ',
  'garbage',
  '0-0',
  'u00000000',
  'u00000000:',
  'u00000000:-1-0',
  'u00000000:1-',
  'u00000000:99999999999999999999-0',
  'u00000000:1-0,,',
  ',',
  'u00000000:1-0,u00000000:1-0',
  'x'.repeat(5000),
  '%00',
  '🔔🔔🔔',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, meant literally
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  "'; DROP TABLE users; --",
  '\\u0000',
  'null',
  '[]',
  '{}',
  'u00000000:1.5-0',
  'U00000000:1-0',
  `t${'f'.repeat(8)}:1-0`,
]

const BODIES: unknown[] = [
  null,
  true,
  0,
  'string',
  [],
  [{ user: 'a', data: 1 }],
  {},
  { data: 1 },
  { user: 'a' },
  { user: 'a', topic: 'b', data: 1 },
  { user: '', data: 1 },
  { user: ' ', data: 1 },
  { user: 'a b', data: 1 },
  { user: 'a{b}', data: 1 },
  { user: 'a*', data: 1 },
  { user: 'x'.repeat(129), data: 1 },
  { user: 1, data: 1 },
  { user: null, data: 1 },
  { user: ['a'], data: 1 },
  { user: { $ne: 1 }, data: 1 },
  { topic: '', data: 1 },
  { topic: 'a,b', data: 1 },
  { topic: 'news*', data: 1 },
  { topic: '*', data: 1 },
  { topic: 'é', data: 1 },
  { user: 'a', data: 1, type: '' },
  { user: 'a', data: 1, type: 5 },
  { user: 'a', data: 1, type: 'x'.repeat(129) },
  { user: 'a', data: 1, type: 'a\nb' },
  { user: 'a', data: 1, type: 'a\rb' },
  { user: 'a', data: 1, type: 'a\u0000b' },
  { user: 'a', data: 1, type: 'a\u2028b' },
  { user: 'a', data: 1, type: 'herald.reset' },
  { user: 'a', data: 1, type: 'herald.ready' },
  { user: 'a', data: 1, idempotencyKey: '' },
  { user: 'a', data: 1, idempotencyKey: 5 },
  { user: 'a', data: 1, idempotencyKey: 'x'.repeat(201) },
  { user: 'a', data: 1, idempotencyKey: 'a\nb' },
  { user: 'a', data: 1, extra: 1 },
  { user: 'a', data: 1, __proto__: { polluted: true } },
  { user: 'a', data: 1, constructor: 'x' },
  { messages: null },
  { messages: {} },
  { messages: [] },
  { messages: [null] },
  { messages: [1] },
  {
    messages: [
      { user: 'a', data: 1 },
      { user: 'a b', data: 1 },
    ],
  },
  { messages: Array.from({ length: 1001 }, () => ({ user: 'a', data: 1 })) },
  { messages: [{ user: 'a', data: 1 }], user: 'a' },
]

/** JSON text nested `depth` objects deep, built as text: stringifying it would overflow the stack. */
function deeplyNested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

describe('the bad-input corpus', () => {
  let gateway: TestGateway
  const answers: Array<{ name: string; answer: Answer }> = []
  beforeAll(async () => {
    gateway = await startTestGateway({ PUBLISH_MAX_BODY_BYTES: '65536' })
  })
  afterAll(() => gateway.close())

  const events = (name: string, query: Record<string, string>, headers: Record<string, string> = {}) =>
    request(gateway.eventsUrl(query), { headers }).then((answer) => answers.push({ name, answer }))
  const publish = (name: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    request(`${gateway.url}/v1/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json', ...headers },
      body,
    }).then((answer) => answers.push({ name, answer }))

  it('answers every case with a clear 4xx or a correct stream, never a 5xx', async () => {
    const valid = await gateway.token('alice', { topics: ['news'] })
    for (const [name, token] of tokenCases()) {
      const value = await token
      // Values no HTTP client can put in a header (a browser's fetch refuses them) go in the query only.
      if (HEADER_SAFE.test(value)) await events(`token header: ${name}`, {}, { Authorization: `Bearer ${value}` })
      await events(`token query: ${name}`, { access_token: value })
      await events(`token cookie: ${name}`, {}, { Cookie: `herald_token=${encodeURIComponent(value)}` })
    }
    for (const authorization of [
      'Bearer',
      'Bearer  ',
      'Basic dXNlcjpwYXNz',
      'bearer',
      `Bearer ${'x'.repeat(9000)}`,
      'Digest x',
      'Bearer a b',
    ]) {
      await events(`authorization ${authorization.slice(0, 20)}`, {}, { Authorization: authorization })
    }
    // Past Node's 16 KiB header limit: refused with 431 before Herald runs.
    for (const [name, value] of [
      ['Authorization', `Bearer ${'x'.repeat(20_000)}`],
      ['Cookie', `herald_token=${'y'.repeat(20_000)}`],
      ['Last-Event-ID', 'z'.repeat(20_000)],
      ['X-Padding', 'p'.repeat(70_000)],
    ] as const) {
      await events(`oversized header ${name}`, {}, { [name]: value })
    }
    for (const cookie of [
      'herald_token',
      'herald_token=',
      '=;=;=',
      'a=1;;;herald_token=;',
      `herald_token=${'y'.repeat(9000)}`,
    ]) {
      await events(`cookie ${cookie.slice(0, 20)}`, {}, { Cookie: cookie })
    }
    for (const garbage of GARBAGE_STRINGS) {
      await events(
        `Last-Event-ID ${garbage.slice(0, 20)}`,
        {},
        {
          Authorization: `Bearer ${valid}`,
          'Last-Event-ID': HEADER_SAFE.test(garbage) ? garbage : encodeURIComponent(garbage),
        },
      )
      await events(
        `lastEventId ${garbage.slice(0, 20)}`,
        { lastEventId: garbage },
        { Authorization: `Bearer ${valid}` },
      )
      await events(`topics ${garbage.slice(0, 20)}`, { topics: garbage }, { Authorization: `Bearer ${valid}` })
      await events(`access_token ${garbage.slice(0, 20)}`, { access_token: garbage })
    }
    for (const topics of [
      'news,',
      ',news',
      'news,,news',
      'news/../secret',
      Array.from({ length: 40 }, (_, i) => `t${i}`).join(','),
      'x'.repeat(129),
    ]) {
      await events(`topics ${topics.slice(0, 20)}`, { topics }, { Authorization: `Bearer ${valid}` })
    }
    for (const raw of [
      '/v1/events?access_token=%E0%A4%A',
      '/v1/events?topics=%ZZ',
      '/v1/events?lastEventId=%FF%FE',
      '/v1/events?%%%',
      '/v1/events?topics',
    ]) {
      answers.push({
        name: `raw ${raw}`,
        answer: await request(`${gateway.url}${raw}`, { headers: { Authorization: `Bearer ${valid}` } }),
      })
    }

    for (const body of BODIES) {
      await publish(`body ${JSON.stringify(body)?.slice(0, 40)}`, JSON.stringify(body))
      // The same message inside a batch, after a valid one: the batch is refused whole.
      await publish(
        `batch ${JSON.stringify(body)?.slice(0, 40)}`,
        JSON.stringify({ messages: [{ user: 'a', data: 0 }, body] }),
      )
    }
    for (const depth of [33, 100, 1000, 5000])
      await publish(`nested ${depth}`, `{"user":"a","data":${deeplyNested(depth)}}`)
    for (const text of [
      '',
      '{',
      '{"user":',
      'nul',
      '{"user":"a","data":1}}',
      '{"user":"a","data":1,}',
      "{'user':'a'}",
      '\ufeff{"user":"a","data":1}',
      '{"user":"a","data":NaN}',
    ]) {
      await publish(`text ${JSON.stringify(text)}`, text)
    }
    for (const bytes of [
      [0xc3, 0x28],
      [0xa0, 0xa1],
      [0xe2, 0x28, 0xa1],
      [0xf0, 0x28, 0x8c, 0xbc],
      [0xed, 0xa0, 0x80],
      [0xff],
    ]) {
      const body = Buffer.concat([Buffer.from('{"user":"a","data":"'), Buffer.from(bytes), Buffer.from('"}')])
      await publish(`invalid UTF-8 ${bytes.map((b) => b.toString(16)).join(' ')}`, body)
    }
    await publish('body over the limit', JSON.stringify({ user: 'a', data: 'x'.repeat(70_000) }))
    for (const contentType of [
      'text/plain',
      '',
      'application/x-www-form-urlencoded',
      'application/jsonp',
      'multipart/form-data',
    ]) {
      await publish(`content type ${contentType || '(none)'}`, '{"user":"a","data":1}', { 'Content-Type': contentType })
    }
    for (const key of [
      '',
      'Bearer',
      `Bearer ${valid}`,
      `Bearer ${TEST_API_KEY}x`,
      `Bearer ${TEST_API_KEY.slice(1)}`,
      'Basic x',
      `bearer ${'k'.repeat(5000)}`,
    ]) {
      await publish(`publish key ${key.slice(0, 20)}`, '{"user":"a","data":1}', { Authorization: key })
    }

    expect(answers.length).toBeGreaterThanOrEqual(500)
    const unclear = answers.filter(({ answer }) => {
      if (answer.status >= 500 || answer.status < 200) return true
      if (answer.status === 200) {
        // A correct stream, a shed stream, or a publish result.
        return answer.contentType !== 'text/event-stream' && !/^\{"ids?":/.test(answer.body)
      }
      if (answer.status === 431) return false // Node's own header limit, before Herald runs.
      return !/^application\/json/.test(answer.contentType) || !/"code":"HERALD_ERR_[A-Z_]+"/.test(answer.body)
    })
    expect(unclear.map(({ name, answer }) => `${name}: ${answer.status} ${answer.body.slice(0, 80)}`)).toEqual([])
    expect(
      answers.filter(({ name }) => name.startsWith('oversized header')).map(({ answer }) => answer.status),
    ).toEqual([431, 431, 431, 431])
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200)
  })
})

/** Names built to escape a Redis key or its Cluster hash tag, or to match many keys. */
const KEY_INJECTIONS = [
  'a}:{b',
  '}',
  '{victim}',
  'u:victim}:s',
  'victim}:s\r\nDEL herald:{u:victim}:s',
  '*',
  '?',
  '[a-z]',
  'a\r\nFLUSHALL',
  'a\nb',
  'a b',
  'a\u0000b',
  '\\x00',
  'herald:{u:victim}:s',
  'x'.repeat(129),
  'x'.repeat(100_000),
  'é',
  '../victim',
]

describe('what reaches Redis: names, and announcements Redis did not make', () => {
  let redis: RedisServer
  let gateway: TestGateway
  beforeAll(async () => {
    redis = await startRedis()
    gateway = await startTestGateway({ REDIS_URL: redis.url })
  })
  afterAll(async () => {
    await gateway.close()
    await redis.stop()
  })

  it('accepts each only where the name rules allow it, and touches no key outside the channel it names', async () => {
    expect((await gateway.publish({ user: 'victim', data: 'kept', idempotencyKey: 'k' })).status).toBe(200)
    const valid = await gateway.token('alice', { topics: ['news'] })
    const stream = async (query: Record<string, string>, token: string) =>
      (await request(gateway.eventsUrl(query), { headers: { Authorization: `Bearer ${token}` } })).status
    // [case, status, whether Herald's name rules allow the name there]
    const cases: Array<[string, number, boolean]> = []
    for (const name of KEY_INJECTIONS) {
      const hostileSub = await signWith({ sub: name, exp: future(), topics: [name] })
      cases.push([`sub ${name}`, await stream({}, hostileSub), isValidUserId(name) && isValidTopicGrant(name)])
      cases.push([
        `grant ${name}`,
        await stream({}, await gateway.token('alice', { topics: [name] })),
        isValidTopicGrant(name),
      ])
      // Valid or not, alice holds no grant for it.
      cases.push([`topics ${name}`, await stream({ topics: name }, valid), false])
      const publishes: Array<[string, unknown, boolean]> = [
        ['user', { user: name, data: 1 }, isValidUserId(name)],
        ['topic', { topic: name, data: 1 }, isValidTopic(name)],
        ['idempotencyKey', { user: 'victim', data: 1, idempotencyKey: name }, isValidIdempotencyKey(name)],
        [
          'batch',
          {
            messages: [
              { user: 'alice', data: 1 },
              { user: name, data: 1 },
            ],
          },
          isValidUserId(name),
        ],
      ]
      for (const [kind, body, allowed] of publishes) {
        cases.push([`publish ${kind} ${name}`, (await gateway.publish(body)).status, allowed])
      }
    }
    const wrong = cases.filter(([, status, allowed]) => (status === 200) !== allowed || status >= 500)
    expect(wrong.map(([name, status]) => `${name.slice(0, 60)}: ${status}`)).toEqual([])

    const keys = (await redis.cli('--scan')).split('\n').filter((key) => key !== '')
    const outside = keys.filter((key) => {
      const match = /^herald:\{([ut]):([^{}]*)\}:(s|i:(.+))$/.exec(key)
      if (match === null) return true
      const [, kind, name, , idempotency] = match
      return (
        !(kind === 'u' ? isValidUserId(name!) : isValidTopic(name!)) ||
        (idempotency !== undefined && !isValidIdempotencyKey(idempotency))
      )
    })
    expect(outside).toEqual([])
    // The victim's history holds its own message plus the accepted idempotent ones: nothing deleted or replaced.
    const idempotent = cases.filter(([name, status]) => name.startsWith('publish idempotencyKey') && status === 200)
    expect(Number(await redis.cli('XLEN', 'herald:{u:victim}:s'))).toBe(1 + idempotent.length)
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200)
  })

  it('with an id years ahead is dropped, so it cannot silence the streams listening', async () => {
    const token = await gateway.token('zed')
    const client = new RecordingEventSource(gateway.eventsUrl(), { token })
    try {
      await client.waitForReady()
      expect((await gateway.publish({ user: 'zed', data: 'one' })).status).toBe(200)
      // Raw, as a buggy publisher with the documented &herald:* grant could send it.
      await redis.cli('SPUBLISH', 'herald:{u:zed}:c', '9999999999999-0\n\n"forged"')
      expect((await gateway.publish({ user: 'zed', data: 'two' })).status).toBe(200)
      await client.waitForEvents(2)
      expect(client.payloads()).toEqual(['one', 'two'])
    } finally {
      client.close()
    }
  })
})
