/**
 * The naive hono baseline (peers/naive-hono/server.ts) as a load target, published to over
 * pipelined HTTP like Nchan.
 */
import { fileURLToPath } from 'node:url'
import { startProcess } from './child-process.js'
import { PipelinedPublisher } from './pipelined-publisher.js'
import type { PublishItem, Target, TargetOptions } from './target.js'

const SERVER = fileURLToPath(new URL('../../peers/naive-hono/server.js', import.meta.url))

export async function startNaiveHono(options: TargetOptions): Promise<Target> {
  const profile = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]
  const { process: server, match } = await startProcess(process.execPath, [...profile, SERVER], {
    env: { PORT: '0' },
    ready: /listening (\d+)/,
  })
  const port = Number(match[1])
  const publisher = new PipelinedPublisher('127.0.0.1', port)
  return {
    name: 'naive-hono',
    host: '127.0.0.1',
    port,
    readyEvent: 'ready',
    groups: [{ name: 'server', pids: () => [server.pid] }],
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
      await server.stop()
    },
  }
}
