/**
 * The Node peers as load targets: the naive hono baseline (peers/naive-hono) and the bare
 * `node:http` floor (peers/bare-node). Both take GET /events?user=|topic= and POST /publish,
 * and are published to over pipelined HTTP like Nchan. `bare-node-redis` is the same floor fed
 * by a harness redis-server instead, published to through the Herald publisher as Herald is.
 */
import { fileURLToPath } from 'node:url'
import { HeraldPublisher } from '@herald/publisher'
import { startRedis } from '@herald/redis-harness'
import { startProcess } from './child-process.js'
import { publishThroughRedis } from './herald.js'
import { PipelinedPublisher } from './pipelined-publisher.js'
import { heartbeatEnv, nodeDiagnosticFlags, type PublishItem, type Target, type TargetOptions } from './target.js'

export type NodePeerName = 'naive-hono' | 'bare-node' | 'bare-node-redis'

export async function startNodePeer(name: NodePeerName, options: TargetOptions): Promise<Target> {
  const redis = name === 'bare-node-redis' ? await startRedis() : undefined
  const peer = name === 'bare-node-redis' ? 'bare-node' : name
  const server = fileURLToPath(new URL(`../../peers/${peer}/server.js`, import.meta.url))
  const started = await startProcess(process.execPath, [...nodeDiagnosticFlags(options), server], {
    env: {
      PORT: '0',
      ...heartbeatEnv('HEARTBEAT_MS', options),
      ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
    },
    ready: /listening (\d+)/,
  }).catch(async (error: unknown) => {
    await redis?.stop()
    throw error
  })
  const { process: child, match } = started
  const port = Number(match[1])
  const http = new PipelinedPublisher('127.0.0.1', port)
  const heraldPublisher = redis === undefined ? undefined : new HeraldPublisher({ redis: redis.url })
  return {
    name,
    host: '127.0.0.1',
    port,
    readyEvent: 'ready',
    groups: [
      { name: 'server', pids: () => [child.pid] },
      ...(redis === undefined ? [] : [{ name: 'redis', pids: () => (redis.pid === undefined ? [] : [redis.pid]) }]),
    ],
    async subscription(user, topic) {
      const query = topic === undefined ? `user=${encodeURIComponent(user)}` : `topic=${encodeURIComponent(topic)}`
      return { key: topic ?? user, path: `/events?${query}`, headers: {} }
    },
    async publish(items: readonly PublishItem[]) {
      if (heraldPublisher !== undefined) return publishThroughRedis(heraldPublisher, items)
      const requests = items.map((item) => {
        const target = 'user' in item.channel ? `"user":"${item.channel.user}"` : `"topic":"${item.channel.topic}"`
        return ['/publish', `{${target},"data":${item.data}}`, target] as const
      })
      await http.post(requests)
    },
    async stop() {
      http.close()
      await heraldPublisher?.close()
      await child.stop()
      await redis?.stop()
    },
  }
}
