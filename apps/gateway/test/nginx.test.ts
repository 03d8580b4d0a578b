import http2 from 'node:http2'
import { type ParsedEvent, SseParser } from '@herald/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { postJson, RecordingEventSource, signToken, TEST_API_KEY } from './harness.js'
import { type NginxFleet, startNginxFleet } from './nginx.js'
import { metric } from './redis-nodes.js'

const range = (count: number) => Array.from({ length: count }, (_, n) => n)

// Gateways killed and stopped behind nginx while publishing: test/faults/gateway-restarts.test.ts.
describe('gateways behind the shipped nginx config', () => {
  let fleet: NginxFleet
  afterEach(() => fleet.stop())

  it('passes a stream that reaches a full node on to the next one, unnoticed by the client', async () => {
    fleet = await startNginxFleet([{ MAX_CONNECTIONS: '1' }, {}])
    // Fill the first node directly, where nginx cannot see it.
    const direct = new RecordingEventSource(fleet.nodes[0]!.eventsUrl(), { token: await signToken('direct') })
    await direct.waitForReady()
    const viaNginx = await Promise.all(range(4).map((i) => fleet.connect(`user${i}`)))
    await Promise.all(viaNginx.map((client) => client.waitForReady()))
    for (const client of viaNginx) expect(client.count('herald.unavailable')).toBe(0)
    expect(await metric(fleet.nodes[1]!, 'herald_connections')).toBe(4)
    const rejected = await (await fetch(`${fleet.nodes[0]!.url}/metrics`)).text()
    expect(rejected).toMatch(/^herald_connections_rejected_total\{reason="over_capacity"\} [1-9]/m)
    direct.close()
  })

  it('when every node is full, keeps the EventSource alive and connects it once capacity frees', async () => {
    fleet = await startNginxFleet([{ MAX_CONNECTIONS: '1' }, { MAX_CONNECTIONS: '1' }])
    const [first, second] = [await fleet.connect('a'), await fleet.connect('b')]
    await Promise.all([first.waitForReady(), second.waitForReady()])
    const waiting = await fleet.connect('c')
    await waiting.waitForEvents(1, 'herald.unavailable')
    expect(JSON.parse(waiting.events[0]!.data).reason).toBe('over_capacity')
    // Not a permanent failure: the spec client is reconnecting, not closed.
    expect(waiting.source.readyState).not.toBe(waiting.source.CLOSED)
    first.close()
    await waiting.waitForReady(1, 30_000)
    expect(waiting.source.readyState).toBe(waiting.source.OPEN)
  })

  it('serves the stream over HTTP/2 at the edge', async () => {
    fleet = await startNginxFleet([{}])
    const session = http2.connect(fleet.nginx.tlsUrl, { rejectUnauthorized: false })
    const stream = session.request({ ':path': '/v1/events', authorization: `Bearer ${await signToken('h2')}` })
    const events: ParsedEvent[] = []
    let changed: () => void = () => {}
    const parser = new SseParser({
      onEvent: (event) => {
        events.push(event)
        changed()
      },
    })
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve))
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => parser.push(chunk))
    const until = (count: number) =>
      new Promise<void>((resolve) => {
        changed = () => events.length >= count && resolve()
        changed()
      })
    await until(1)
    await fleet.publisher.publish({ user: 'h2' }, 'over.h2', { ok: true })
    await until(2)
    stream.close()
    session.close()
    expect(headers[':status']).toBe(200)
    expect(headers['content-type']).toBe('text/event-stream')
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['herald.ready', expect.any(String)],
      ['over.h2', '{"ok":true}'],
    ])
  })

  it("answers a publish body over the gateway's limit with the gateway's JSON error, not nginx's page", async () => {
    fleet = await startNginxFleet([{}])
    const reply = await postJson(
      `${fleet.nginx.url}/v1/publish`,
      { user: 'big', data: 'x'.repeat(300_000) },
      TEST_API_KEY,
    )
    expect(reply.status).toBe(413)
    expect(reply.body.error.code).toBe('HERALD_ERR_BODY_TOO_LARGE')
  })
})
