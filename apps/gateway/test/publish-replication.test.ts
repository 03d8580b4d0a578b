/**
 * PUBLISH_WAIT_REPLICAS against a real master and replica: a publish answered 200 is on the
 * replica, so a failover keeps it; one the replica does not confirm in time is a 503 that says
 * so, and its retry with the same idempotency key answers the same id.
 */

import { streamKey } from '@herald/publisher/internal'
import { pollUntil, type RedisServer, startRedis, startReplicaOf } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RawSseStream, signToken } from './harness.js'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

describe('publishing with PUBLISH_WAIT_REPLICAS', () => {
  let master: RedisServer
  let replica: RedisServer
  let node: GatewayNode
  beforeAll(async () => {
    master = await startRedis()
    replica = await startReplicaOf(master)
    // Generous: under the whole suite's load a replica took over 300 ms to acknowledge. The test
    // that expects no acknowledgement stops the replica, so this only sets how long it waits.
    ;[node] = (await startNodes(master.url, 1, { PUBLISH_WAIT_REPLICAS: '1', PUBLISH_WAIT_TIMEOUT_MS: '2000' })) as [
      GatewayNode,
    ]
  })
  afterAll(async () => {
    await stopNodes([node])
    await replica.stop()
    await master.stop()
  })

  const publish = async (body: unknown) => {
    const response = await node.publish(body)
    return { status: response.status, headers: response.headers, body: (await response.json()) as any }
  }

  it('answers 200 once the replica has the message', async () => {
    const published = await publish({ user: 'ivy', data: 1 })
    expect(published.status).toBe(200)
    // WAIT returned: the replica applied it before the answer, no polling needed.
    expect(await replica.cli('XLEN', streamKey('u:ivy'))).toBe('1')
  })

  const publishedTotal = async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text()
    return Number(/^herald_messages_published_total (\d+)$/m.exec(text)![1])
  }

  it('answers 503 HERALD_ERR_NOT_REPLICATED when the replica does not confirm, and a retry gives the same id', async () => {
    const publishedBefore = await publishedTotal()
    process.kill(replica.pid!, 'SIGSTOP')
    let refused: { status: number; headers: Headers; body: any }
    try {
      refused = await publish({ user: 'jon', data: 1, idempotencyKey: 'k1' })
    } finally {
      process.kill(replica.pid!, 'SIGCONT')
    }
    expect(refused.status).toBe(503)
    expect(refused.body.error.code).toBe('HERALD_ERR_NOT_REPLICATED')
    expect(refused.headers.get('retry-after')).toBe('1')
    // Stored on the master all the same: the retry finds it by its key and publishes nothing twice.
    expect(await master.cli('XLEN', streamKey('u:jon'))).toBe('1')
    // Stored and announced, so published, as the metric says; and answered 503, as the other says.
    expect(await publishedTotal()).toBe(publishedBefore + 1)
    const metrics = await (await fetch(`${node.url}/metrics`)).text()
    expect(metrics).toContain('herald_publish_failures_total{code="not_replicated"} 1\n')
    const retried = await publish({ user: 'jon', data: 1, idempotencyKey: 'k1' })
    expect(retried.status).toBe(200)
    expect(await master.cli('XLEN', streamKey('u:jon'))).toBe('1')
  })

  it('sets streams up while a publish waits on replicas that do not answer', async () => {
    const [patient] = (await startNodes(master.url, 1, {
      PUBLISH_WAIT_REPLICAS: '1',
      PUBLISH_WAIT_TIMEOUT_MS: '10000',
    })) as [GatewayNode]
    process.kill(replica.pid!, 'SIGSTOP')
    try {
      let settled = false
      const publishing = patient.publish({ user: 'kim', data: 1 }).finally(() => {
        settled = true
      })
      // Redis holds every later command on a connection while its WAIT blocks (state, no event).
      await pollUntil('the publish to be waiting on replicas', async () =>
        (await master.cli('CLIENT', 'LIST')).includes('cmd=wait') ? true : undefined,
      )
      const stream = new RawSseStream(patient.eventsUrl(), { Authorization: `Bearer ${await signToken('lee')}` })
      await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'))
      stream.close()
      expect(settled).toBe(false)
      process.kill(replica.pid!, 'SIGCONT')
      expect((await publishing).status).toBe(200)
    } finally {
      process.kill(replica.pid!, 'SIGCONT')
      await stopNodes([patient])
    }
  })
})
