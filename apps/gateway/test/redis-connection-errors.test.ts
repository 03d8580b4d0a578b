/**
 * `herald_redis_connection_errors_total` counts dropped sockets, not only failed connects: a
 * connection Redis closes cleanly (CLIENT KILL, a shutdown) emits no error, and a probe's kills
 * of every connection left the counter at 0 while the node had reconnected three of them.
 */

import { pollUntil, type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GatewayNode, metric, metricSettlesAt, startNodes, stopNodes } from './redis-nodes.js'

const ERRORS = 'herald_redis_connection_errors_total'

describe('the Redis connection-errors metric', () => {
  let redis: RedisServer
  let node: GatewayNode

  beforeAll(async () => {
    redis = await startRedis()
    ;[node] = (await startNodes(redis.url, 1)) as [GatewayNode]
    await pollUntil('ready', async () => ((await fetch(`${node.url}/readyz`)).status === 200 ? true : undefined))
  })

  afterAll(async () => {
    await stopNodes(node === undefined ? [] : [node])
    await redis?.stop()
  })

  it('counts each connection Redis closed, once', async () => {
    expect(await metric(node, ERRORS)).toBe(0)
    // The commands and publishing connections.
    expect(await redis.cli('CLIENT', 'KILL', 'TYPE', 'normal')).toBe('2')
    expect(await metricSettlesAt(node, ERRORS, 2)).toBe(2)
    // The subscriber.
    expect(await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBe('1')
    expect(await metricSettlesAt(node, ERRORS, 3)).toBe(3)
    await pollUntil('ready again', async () => ((await fetch(`${node.url}/readyz`)).status === 200 ? true : undefined))
    expect(await metric(node, ERRORS)).toBe(3)
  })
})
