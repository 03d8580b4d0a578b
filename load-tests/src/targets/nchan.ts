/**
 * Nchan (Debian's libnginx-mod-nchan) as a peer: one nginx worker (or one per core, the kernel
 * spreading connections over them with `reuseport`) with memory storage, or with Redis storage
 * on a harness-started redis-server. EventSource subscribers, HTTP publishing.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { httpTempPaths, type NginxProcess, nginxPreamble, startNginx } from './nginx.js'
import { PipelinedPublisher } from './pipelined-publisher.js'
import type { Channel, PublishItem, Target, TargetOptions } from './target.js'

const TEMPLATE = fileURLToPath(new URL('../../../peers/nchan/nchan.conf', import.meta.url))

/**
 * Nchan takes more of nginx's connection slots than it has sockets (19,000 subscribers ran out of
 * 19,900 slots), so the slots go past the file limit; sockets are still bounded by the 20,000 files.
 */
const NCHAN_WORKER_CONNECTIONS = 60_000

const channelId = (channel: Channel) => ('user' in channel ? `u.${channel.user}` : `t.${channel.topic}`)

export async function startNchan(storage: 'memory' | 'redis', _options: TargetOptions, workers = 1): Promise<Target> {
  let redis: RedisServer | undefined
  let nginx: NginxProcess | undefined
  try {
    if (storage === 'redis') redis = await startRedis()
    const redisUrl = redis?.url
    nginx = await startNginx((port, dir) =>
      readFileSync(TEMPLATE, 'utf8')
        .replace('{{PREAMBLE}}', nginxPreamble(dir, NCHAN_WORKER_CONNECTIONS, workers))
        .replace('{{TEMP_PATHS}}', httpTempPaths(dir))
        .replace('{{PORT}}', String(port))
        .replace('{{STORAGE}}', redisUrl === undefined ? '' : `nchan_redis_url ${redisUrl}; nchan_use_redis on;`),
    )
  } catch (error) {
    await redis?.stop()
    throw error
  }
  const server = nginx
  const publisher = new PipelinedPublisher('127.0.0.1', server.port)
  return {
    name: storage === 'redis' ? 'nchan-redis' : workers > 1 ? 'nchan-memory-per-core' : 'nchan-memory',
    host: '127.0.0.1',
    port: server.port,
    readyEvent: null,
    groups: [
      { name: 'nginx', pids: () => server.pids() },
      ...(redis === undefined ? [] : [{ name: 'redis', pids: () => (redis.pid === undefined ? [] : [redis.pid]) }]),
    ],
    async subscription(user, topic) {
      const channel: Channel = topic === undefined ? { user } : { topic }
      return { key: topic ?? user, path: `/sub/${channelId(channel)}`, headers: {} }
    },
    async publish(items: readonly PublishItem[]) {
      await publisher.post(
        items.map((item) => {
          const channel = channelId(item.channel)
          return [`/pub/${channel}`, item.data, channel] as const
        }),
      )
    },
    async stop() {
      publisher.close()
      await server.stop()
      await redis?.stop()
    },
  }
}
