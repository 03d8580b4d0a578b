import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  exchange,
  RecordingEventSource,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
  withTimeout,
} from '../../test/harness.js'
import { MAX_WAITING_ANSWERS } from './pipelined-requests.js'

describe('requests pipelined on one connection', () => {
  let gateway: TestGateway
  let bob: RecordingEventSource
  beforeAll(async () => {
    gateway = await startTestGateway()
    bob = new RecordingEventSource(gateway.eventsUrl(), {
      token: await gateway.token('bob'),
      types: ['marker', 'pipelined'],
    })
    await bob.waitForReady()
  })
  afterAll(async () => {
    bob.close()
    await gateway.close()
  })

  const publish = (body: unknown, key = TEST_API_KEY) => {
    const json = JSON.stringify(body)
    return `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`
  }
  /** What bob received, once a marker published after the pipelined requests has arrived. */
  const receivedBy = async (markers: number): Promise<string[]> => {
    expect((await gateway.publish({ user: 'bob', type: 'marker', data: markers })).status).toBe(200)
    await bob.waitForEvents(markers, 'marker')
    return bob.events.filter((event) => event.type !== 'herald.ready').map((event) => `${event.type} ${event.data}`)
  }

  it('does not run a publish pipelined behind a stream, whose answer closes the connection', async () => {
    const stream = `GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await gateway.token('alice')}\r\n\r\n`
    const answer = await exchange(gateway.url, stream + publish({ user: 'bob', type: 'pipelined', data: 1 }), (text) =>
      text.includes('event: herald.ready'),
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: close\r\n/i)
    expect(await receivedBy(1)).toEqual(['marker 1'])
  })

  it('does not run a publish pipelined behind a refusal that closes the connection', async () => {
    const refused = publish({ user: 'bob', type: 'pipelined', data: 2 }, 'not-the-publish-key')
    const answer = await exchange(gateway.url, refused + publish({ user: 'bob', type: 'pipelined', data: 3 }))
    // The refusal is answered before its body is read, so the connection closes after it.
    expect(answer.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 401'])
    expect(answer).toMatch(/connection: close\r\n/i)
    expect(await receivedBy(2)).toEqual(['marker 1', 'marker 2'])
  })

  it('answers a publish that closes its connection with its own answer, whatever bytes follow it, and runs it once', async () => {
    const closing = publish({ user: 'bob', type: 'pipelined', data: 'closing' }).replace(
      'Content-Type',
      'Connection: close\r\nContent-Type',
    )
    for (const first of [
      closing,
      publish({ user: 'bob', type: 'pipelined', data: 'http/1.0' }).replace('HTTP/1.1', 'HTTP/1.0'),
    ]) {
      const answer = await exchange(gateway.url, first + publish({ user: 'bob', type: 'pipelined', data: 'behind' }))
      expect(answer.match(/HTTP\/1\.1 \d{3}/g), first).toEqual(['HTTP/1.1 200'])
      expect(answer).toMatch(/"id":"\d+-\d+"/)
    }
    expect(await receivedBy(3)).toEqual([
      'marker 1',
      'marker 2',
      'pipelined "closing"',
      'pipelined "http/1.0"',
      'marker 3',
    ])
  })

  it('answers a publish followed by bytes Node cannot parse with its own answer, and runs it once', async () => {
    const after = [
      'GARBAGE\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
      'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
    ]
    for (const [n, bytes] of after.entries()) {
      const answer = await exchange(gateway.url, publish({ user: 'bob', type: 'pipelined', data: `junk ${n}` }) + bytes)
      expect(answer.match(/HTTP\/1\.1 \d{3}/g), bytes.slice(0, 20)).toEqual(['HTTP/1.1 200'])
      expect(answer).toMatch(/connection: close\r\n/i)
      expect(answer).toMatch(/"id":"\d+-\d+"/)
    }
    const received = await receivedBy(4)
    expect(received.slice(-5)).toEqual([
      'pipelined "junk 0"',
      'pipelined "junk 1"',
      'pipelined "junk 2"',
      'pipelined "junk 3"',
      'marker 4',
    ])
  })

  it('answers and runs pipelined publishes in order on a connection that stays open', async () => {
    const requests = [4, 5, 6].map((n) => publish({ user: 'bob', type: 'pipelined', data: n })).join('')
    const answer = await exchange(gateway.url, requests, (text) => text.match(/"id"/g)?.length === 3)
    expect(answer.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200'])
    expect((await receivedBy(5)).slice(-4)).toEqual(['pipelined 4', 'pipelined 5', 'pipelined 6', 'marker 5'])
  })

  it('closes a connection with more requests waiting for their turn than a client pipelines, and answers one with fewer', async () => {
    const healthz = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
    // Within the bound: every one answered, in turn, on a connection that stays open.
    const fifty = await exchange(
      gateway.url,
      healthz.repeat(50),
      (text) => text.match(/HTTP\/1\.1 200/g)?.length === 50,
    )
    expect(fifty.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(50)
    // 20,000 at once: unbounded, they would each hold a request and a response until answered in
    // turn (and a client that reads none held millions). The node closes the connection instead.
    const flooded = await withTimeout(
      new Promise<string>((resolve) => {
        let text = ''
        const socket = net.connect(Number(new URL(gateway.url).port), '127.0.0.1', () =>
          socket.write(healthz.repeat(20_000)),
        )
        socket.setEncoding('latin1')
        socket.on('data', (chunk: string) => {
          text += chunk
        })
        // A close with requests unread is a reset: both end the connection.
        socket.on('error', () => {})
        socket.on('close', () => resolve(text))
      }),
      10_000,
      () => 'the flooded connection to close',
    )
    expect(flooded.match(/HTTP\/1\.1 200/g)?.length ?? 0).toBeLessThanOrEqual(MAX_WAITING_ANSWERS + 1)
    // The node serves others as before.
    expect(await exchange(gateway.url, `${healthz.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`)).toMatch(
      /^HTTP\/1\.1 200 /,
    )
  })
})
