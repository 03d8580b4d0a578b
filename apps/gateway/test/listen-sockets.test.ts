/**
 * LISTEN_SOCKETS above 1: the node listens with that many SO_REUSEPORT sockets on one port, on a
 * Node.js that has them (registry-node.ts), and every socket serves the same routes.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type GatewayProcess,
  postJson,
  RawSseStream,
  signToken,
  spawnGateway,
  startGatewayProcess,
  TEST_API_KEY,
  TEST_SECRET,
} from './harness.js'
import { reusePortNode } from './registry-node.js'

/** Listening TCP sockets on 127.0.0.1:`port`, from the kernel's table. */
function listenersOn(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .filter((line) => {
      const [, address, , state] = line.trim().split(/\s+/)
      return address === local && state === '0A'
    }).length
}

describe('LISTEN_SOCKETS', () => {
  const node = reusePortNode()
  let gateways: GatewayProcess[] = []
  afterEach(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()))
    gateways = []
  })

  it('listens with that many sockets on one port, and streams through every one of them go live and get a message', async () => {
    const { process: gateway, url } = await startGatewayProcess(
      { LISTEN_SOCKETS: '4', MAX_CONNECTIONS_PER_USER: '200' },
      node,
    )
    gateways.push(gateway)
    const port = Number(new URL(url).port)
    expect(listenersOn(port)).toBe(4)

    // The kernel spreads connections over the group by their addresses and ports: 200 reach all
    // four sockets (each misses all of them with odds of 4 * 0.75^200), so a socket that served
    // nothing would leave about 50 streams without `herald.ready`.
    const token = await signToken('u1')
    const streams = Array.from(
      { length: 200 },
      () => new RawSseStream(`${url}/v1/events`, { Authorization: `Bearer ${token}` }),
    )
    try {
      await Promise.all(
        streams.map((s) => s.until((s) => s.events.some((e) => e.type === 'herald.ready'), 15_000, 'herald.ready')),
      )
      expect((await postJson(`${url}/v1/publish`, { user: 'u1', data: { n: 1 } }, TEST_API_KEY)).status).toBe(200)
      await Promise.all(
        streams.map((s) => s.until((s) => s.events.some((e) => e.data === '{"n":1}'), 15_000, 'the message')),
      )
    } finally {
      for (const stream of streams) stream.close()
    }
    // Every socket closes on SIGTERM (a server whose close never settled would hold the exit up).
    expect(await gateway.stop()).toBe(0)
    expect(listenersOn(port)).toBe(0)
  })

  it('keeps the port its own: a node with one socket cannot bind it meanwhile, and says so', async () => {
    const { process: first, url } = await startGatewayProcess({ LISTEN_SOCKETS: '2' }, node)
    gateways.push(first)
    const port = new URL(url).port
    const env = { JWT_SECRET: TEST_SECRET, PUBLISH_API_KEY: TEST_API_KEY, PORT: port, HOST: '127.0.0.1' }
    const second = spawnGateway(env, [], node)
    gateways.push(second)
    expect(await second.exited).toBe(1)
    expect(second.output()).toMatch(/EADDRINUSE/)
    expect(listenersOn(Number(port))).toBe(2)
  })
})
