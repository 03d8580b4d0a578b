import http2 from 'node:http2'
import { type ParsedEvent, SseParser } from '@herald/protocol'
import { HeraldPublisher } from '@herald/publisher'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterEach, describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken } from './harness.js'
import { type Nginx, startNginx } from './nginx.js'
import { type GatewayNode, publishSequence, startNodes, stopNodes } from './redis-nodes.js'

const range = (count: number) => Array.from({ length: count }, (_, n) => n)

async function metric(node: GatewayNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
}

describe('gateways behind the shipped nginx config', () => {
  let redis: RedisServer
  let nodes: GatewayNode[]
  let nginx: Nginx
  let publisher: HeraldPublisher
  let clients: RecordingEventSource[]

  async function start(envs: Array<Record<string, string>>): Promise<void> {
    redis = await startRedis()
    nodes = (await Promise.all(envs.map((env) => startNodes(redis.url, 1, { DRAIN_WINDOW_MS: '500', ...env })))).flat()
    nginx = await startNginx(nodes.map((node) => new URL(node.url).host))
    publisher = new HeraldPublisher({ redis: redis.url })
    clients = []
  }
  const connect = async (user: string) => {
    const client = new RecordingEventSource(`${nginx.url}/v1/events`, { token: await signToken(user) })
    clients.push(client)
    return client
  }
  afterEach(async () => {
    for (const client of clients) client.close()
    await publisher.close()
    await nginx.stop()
    await stopNodes(nodes)
    await redis.stop()
  })

  it('spreads clients over the nodes, and moves them on SIGKILL, SIGTERM and an nginx reload without loss', async () => {
    await start([{}, {}, {}])
    const users = range(12).map((i) => `user${i}`)
    for (const user of users) await (await connect(user)).waitForReady()
    const perNode = await Promise.all(nodes.map((node) => metric(node, 'herald_connections')))
    expect(perNode.reduce((a, b) => a + b)).toBe(12)
    for (const count of perNode) expect(count).toBeGreaterThanOrEqual(2)

    const total = 900
    const { acknowledged } = await publishSequence(total, 1000, async (n) => {
      await publisher.publishBatch(users.map((user) => ({ target: { user }, data: n, idempotencyKey: `m${n}` })))
      if (n === 200) nodes[0]!.process.child.kill('SIGKILL')
      if (n === 400) nodes[1]!.process.child.kill('SIGTERM')
      if (n === 600) await nginx.reload()
    })
    for (const client of clients) {
      await client.waitForEvents(acknowledged.length, 'message', 30_000)
      expect(client.payloads()).toEqual(range(total))
      expect(client.count('herald.reset')).toBe(0)
    }
    // Everyone ended up on the one node left.
    expect(await metric(nodes[2]!, 'herald_connections')).toBe(12)
  })

  it('passes a stream that reaches a full node on to the next one, unnoticed by the client', async () => {
    await start([{ MAX_CONNECTIONS: '1' }, {}])
    // Fill the first node directly, where nginx cannot see it.
    const direct = new RecordingEventSource(nodes[0]!.eventsUrl(), { token: await signToken('direct') })
    clients.push(direct)
    await direct.waitForReady()
    const viaNginx = await Promise.all(range(4).map((i) => connect(`user${i}`)))
    await Promise.all(viaNginx.map((client) => client.waitForReady()))
    for (const client of viaNginx) expect(client.count('herald.unavailable')).toBe(0)
    expect(await metric(nodes[1]!, 'herald_connections')).toBe(4)
    const rejected = await (await fetch(`${nodes[0]!.url}/metrics`)).text()
    expect(rejected).toMatch(/^herald_connections_rejected_total\{reason="over_capacity"\} [1-9]/m)
  })

  it('when every node is full, keeps the EventSource alive and connects it once capacity frees', async () => {
    await start([{ MAX_CONNECTIONS: '1' }, { MAX_CONNECTIONS: '1' }])
    const [first, second] = [await connect('a'), await connect('b')]
    await Promise.all([first.waitForReady(), second.waitForReady()])
    const waiting = await connect('c')
    await waiting.waitForEvents(1, 'herald.unavailable')
    expect(JSON.parse(waiting.events[0]!.data).reason).toBe('over_capacity')
    // Not a permanent failure: the spec client is reconnecting, not closed.
    expect(waiting.source.readyState).not.toBe(waiting.source.CLOSED)
    first.close()
    await waiting.waitForReady(1, 30_000)
    expect(waiting.source.readyState).toBe(waiting.source.OPEN)
  })

  it('serves the stream over HTTP/2 at the edge', async () => {
    await start([{}])
    const session = http2.connect(nginx.tlsUrl, { rejectUnauthorized: false })
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
    await publisher.publish({ user: 'h2' }, 'over.h2', { ok: true })
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
})
