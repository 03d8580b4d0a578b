/**
 * What a gateway tells operators about a Redis set up or changed under it in ways that lose
 * data silently, fail every publish, or that it repaired: a node that may evict Herald's keys,
 * a master without the replicas publishes wait for, and a functions library that was deleted
 * and loaded again.
 */

import { FUNCTION_LIBRARY_VERSION, heraldFunctions } from '@herald/publisher'
import { pollUntil, type RedisServer, startRedis, startReplicaOf } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

let redis: RedisServer
let nodes: GatewayNode[] = []
beforeAll(async () => {
  redis = await startRedis()
  nodes = await startNodes(redis.url, 1, { LOG_LEVEL: 'info', PUBSUB_PROBE_INTERVAL_MS: '100' })
})
afterAll(async () => {
  await stopNodes(nodes)
  await redis.stop()
})

/** The node's log lines with `msg` matching, parsed. */
function linesAbout(msg: RegExp): Array<Record<string, unknown>> {
  return nodes[0]!.process
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => msg.test(String(line['msg'])))
}

describe('a gateway on a Redis that changes under it', () => {
  it('warns once while Redis may evict its keys, and says when that is fixed', async () => {
    await redis.cli('CONFIG', 'SET', 'maxmemory', '64mb')
    await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru')
    await nodes[0]!.process.waitForOutput(/redis may evict herald keys/)
    await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    await nodes[0]!.process.waitForOutput(/redis no longer evicts herald keys/)
    const warnings = linesAbout(/redis may evict herald keys/)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ level: 40, maxmemoryPolicy: 'volatile-lru', maxmemory: 64 * 1024 * 1024 })
    expect(warnings[0]!['redis']).toBe(`127.0.0.1:${new URL(redis.url).port}`)
  })

  it('logs that it loaded the functions library again after it was deleted', async () => {
    // A node whose first probe tick beats its own startup load logs a reload as it starts: wait
    // for one more line than there were, not for the first (CI once read an empty list after it).
    const before = linesAbout(/herald functions were gone from redis; loaded again/).length
    await redis.cli('FUNCTION', 'DELETE', 'herald')
    await nodes[0]!.process.waitForOutput(
      new RegExp(`(?:herald functions were gone from redis; loaded again[\\s\\S]*?){${before + 1}}`),
    )
    expect(await redis.cli('FUNCTION', 'LIST', 'LIBRARYNAME', 'herald')).toMatch(/herald/)
  })

  it('replaces an older functions library with its own, as one loaded by an older build in a rolling upgrade', async () => {
    const older = FUNCTION_LIBRARY_VERSION - 1
    const code = heraldFunctions(0).replace(
      `-- Herald Redis contract v${FUNCTION_LIBRARY_VERSION}.`,
      `-- Herald Redis contract v${older}.`,
    )
    await redis.cli('FUNCTION', 'LOAD', 'REPLACE', code)
    const [line] = await nodes[0]!.process.waitForOutput(/^.*herald functions on redis were older than this node's.*$/m)
    expect(JSON.parse(line!)).toMatchObject({ level: 30, found: older, loaded: FUNCTION_LIBRARY_VERSION })
    const listed = await redis.cli('FUNCTION', 'LIST', 'LIBRARYNAME', 'herald', 'WITHCODE')
    expect(listed).toContain(`-- Herald Redis contract v${FUNCTION_LIBRARY_VERSION}.`)
  })
})

describe('a gateway starting on a full Redis (noeviction) that holds an older library', () => {
  it('starts ready on the older library instead of exiting, and replaces it once Redis takes writes', async () => {
    const full = await startRedis()
    const started: GatewayNode[] = []
    try {
      const older = FUNCTION_LIBRARY_VERSION - 1
      const code = heraldFunctions(0).replace(
        `-- Herald Redis contract v${FUNCTION_LIBRARY_VERSION}.`,
        `-- Herald Redis contract v${older}.`,
      )
      await full.cli('FUNCTION', 'LOAD', code)
      await full.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
      await full.cli('CONFIG', 'SET', 'maxmemory', '1')
      started.push(...(await startNodes(full.url, 1, { PUBSUB_PROBE_INTERVAL_MS: '100' })))
      const [node] = started as [GatewayNode]
      const [line] = await node.process.waitForOutput(/^.*redis refused the herald functions library.*$/m)
      expect(JSON.parse(line!)).toMatchObject({ level: 40, err: expect.stringMatching(/^OOM /) })
      await pollUntil('the node to be ready', async () =>
        (await fetch(`${node.url}/readyz`)).status === 200 ? true : undefined,
      )
      await full.cli('CONFIG', 'SET', 'maxmemory', '0')
      await node.process.waitForOutput(/herald functions on redis were older than this node's; replaced/)
      expect(node.process.child.exitCode).toBeNull()
    } finally {
      await stopNodes(started)
      await full.stop()
    }
  })
})

describe('a gateway whose publishes wait for a replica', () => {
  it('warns once while its master has no replica, and says when it has one again', async () => {
    const master = await startRedis()
    // A WAIT answers as soon as the replica has the write; the timeout only bounds the publish
    // that has no replica to wait for, and leaves room for a busy machine (500 ms failed once).
    const [node] = await startNodes(master.url, 1, {
      PUBLISH_WAIT_REPLICAS: '1',
      PUBLISH_WAIT_TIMEOUT_MS: '3000',
      PUBSUB_PROBE_INTERVAL_MS: '100',
    })
    let replica: RedisServer | undefined
    try {
      const [line] = await node!.process.waitForOutput(/^.*fewer replicas than PUBLISH_WAIT_REPLICAS.*$/m)
      expect(JSON.parse(line)).toMatchObject({ level: 40, connectedReplicas: 0, publishWaitReplicas: 1 })
      // Why the publishes fail, in the log before the first one does.
      expect((await node!.publish({ user: 'ann', data: 1 })).status).toBe(503)
      replica = await startReplicaOf(master)
      await node!.process.waitForOutput(/redis master has its replicas again/)
      expect((await node!.publish({ user: 'ann', data: 2 })).status).toBe(200)
      expect(node!.process.stdout().match(/fewer replicas than PUBLISH_WAIT_REPLICAS/g)).toHaveLength(1)
    } finally {
      await stopNodes([node!])
      await replica?.stop()
      await master.stop()
    }
  })
})

describe('a gateway that starts before its Redis answers', () => {
  it('loads the functions library without logging that it was gone, and logs it once it is', async () => {
    const frozen = await startRedis()
    process.kill(frozen.pid!, 'SIGSTOP')
    let node: GatewayNode | undefined
    try {
      // It listens unready after its startup wait, its probe ticks queued behind the connection;
      // the first of them to find the library missing loads it, for a Redis that never had it.
      ;[node] = await startNodes(frozen.url, 1, { LOG_LEVEL: 'info', PUBSUB_PROBE_INTERVAL_MS: '100' })
      const { url, process: gateway } = node!
      process.kill(frozen.pid!, 'SIGCONT')
      await pollUntil('the node ready', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined))
      await pollUntil('the library loaded', async () =>
        /herald/.test(await frozen.cli('FUNCTION', 'LIST', 'LIBRARYNAME', 'herald')) ? true : undefined,
      )
      const gone = /herald functions were gone from redis; loaded again/g
      const before = gateway.stdout().match(gone)?.length ?? 0
      await frozen.cli('FUNCTION', 'DELETE', 'herald')
      await gateway.waitForOutput(new RegExp(`(?:${gone.source}[\\s\\S]*?){${before + 1}}`))
      expect(gateway.stdout().match(gone)).toHaveLength(1)
    } finally {
      process.kill(frozen.pid!, 'SIGCONT')
      if (node !== undefined) await stopNodes([node])
      await frozen.stop()
    }
  })
})
