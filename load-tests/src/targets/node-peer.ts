/**
 * The Node peers as load targets: the naive hono baseline (peers/naive-hono) and the bare
 * `node:http` floor (peers/bare-node). Both take GET /events?user=|topic= and POST /publish,
 * and are published to over pipelined HTTP like Nchan.
 */
import { fileURLToPath } from 'node:url'
import { startProcess } from './child-process.js'
import { PipelinedPublisher } from './pipelined-publisher.js'
import { heartbeatEnv, nodeDiagnosticFlags, type PublishItem, type Target, type TargetOptions } from './target.js'

export type NodePeerName = 'naive-hono' | 'bare-node'

export async function startNodePeer(name: NodePeerName, options: TargetOptions): Promise<Target> {
  const server = fileURLToPath(new URL(`../../peers/${name}/server.js`, import.meta.url))
  const { process: child, match } = await startProcess(process.execPath, [...nodeDiagnosticFlags(options), server], {
    env: { PORT: '0', ...heartbeatEnv('HEARTBEAT_MS', options) },
    ready: /listening (\d+)/,
  })
  const port = Number(match[1])
  const publisher = new PipelinedPublisher('127.0.0.1', port)
  return {
    name,
    host: '127.0.0.1',
    port,
    readyEvent: 'ready',
    groups: [{ name: 'server', pids: () => [child.pid] }],
    async subscription(user, topic) {
      const query = topic === undefined ? `user=${encodeURIComponent(user)}` : `topic=${encodeURIComponent(topic)}`
      return { key: topic ?? user, path: `/events?${query}`, headers: {} }
    },
    async publish(items: readonly PublishItem[]) {
      const requests = items.map((item) => {
        const target = 'user' in item.channel ? `"user":"${item.channel.user}"` : `"topic":"${item.channel.topic}"`
        return ['/publish', `{${target},"data":${item.data}}`, target] as const
      })
      await publisher.post(requests)
    },
    async stop() {
      publisher.close()
      await child.stop()
    },
  }
}
