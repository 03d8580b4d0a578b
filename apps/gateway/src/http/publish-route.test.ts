import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, RecordingEventSource, startTestGateway, TEST_API_KEY, type TestGateway } from '../../test/harness.js'

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
    const result = await gateway.publish({ user: 'alice', type: 'invoice.paid', data: { n: 1 } })
    expect(result).toEqual({ status: 200, body: { id: expect.stringMatching(/^\d+-\d+$/) } })
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

  it('accepts either of two keys during rotation', async () => {
    expect((await gateway.publish({ user: 'a', data: 1 }, 'second-key-for-rotation')).status).toBe(200)
  })

  it('refuses a missing or wrong key, and a subscriber token, with 401', async () => {
    expect(await postJson(`${gateway.url}/v1/publish`, { user: 'a', data: 1 })).toEqual({
      status: 401,
      body: { error: { code: 'HERALD_ERR_PUBLISH_KEY_MISSING', message: expect.any(String) } },
    })
    expect((await gateway.publish({ user: 'a', data: 1 }, 'wrong-key')).body.error.code).toBe(
      'HERALD_ERR_PUBLISH_KEY_INVALID',
    )
    const subscriberToken = await gateway.token('a')
    const asSubscriber = await gateway.publish({ user: 'a', data: 1 }, subscriberToken)
    expect(asSubscriber.status).toBe(401)
    expect(asSubscriber.body.error.code).toBe('HERALD_ERR_PUBLISH_KEY_INVALID')
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
  })

  it('answers a body over the limit with 413', async () => {
    const result = await gateway.publish({ user: 'a', data: 'x'.repeat(5000) })
    expect(result.status).toBe(413)
    expect(result.body.error.code).toBe('HERALD_ERR_BODY_TOO_LARGE')
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
