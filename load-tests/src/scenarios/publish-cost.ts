/**
 * What publishing costs, apart from delivering: `@herald/publisher`'s `publishBatch` (one
 * `herald_publish_batch` call per batch) against one `herald_publish` FCALL per message,
 * auto-pipelined, as a client in any language would send it; and `publish` awaited one message
 * a millisecond, as an app's request handlers publish at an ordinary rate, so that both
 * processes wait for each message and pay a wakeup for it. All go to the same harness Redis with
 * nobody subscribed, in alternating rounds, and report the publishing process's CPU and Redis's
 * CPU per message. A diagnostic: it prints, and writes no result file.
 */
import { HeraldPublisher, loadHeraldFunctions, type Message } from '@herald/publisher'
import {
  createRedisClient,
  encodeMessage,
  parseRedisTarget,
  type RedisTarget,
  streamKey,
} from '@herald/publisher/internal'
import { startRedis } from '@herald/redis-harness'
import { cpuBetween, snapshot } from '../harness/proc-sampler.js'
import { markdownTable } from '../report/markdown-table.js'
import { sleep } from './session.js'

export interface PublishCostParams {
  /** Messages per round of each batched way. */
  readonly messages: number
  /** Messages per round published one a millisecond (a round lasts about this many ms). */
  readonly pacedMessages: number
  /** Messages per publish call of the harness, as the load scenarios' pacer sends them. */
  readonly batch: number
  /** Users the messages go to, round-robin. */
  readonly users: number
  readonly rounds: number
}

export type PublishWay = 'herald_publish per message' | 'publishBatch' | 'publish, one a millisecond'

export interface PublishCostRow {
  readonly way: PublishWay
  readonly round: number
  /** Messages the round sent, and the ids Redis returned: all of them, or the round failed. */
  readonly messages: number
  readonly published: number
  readonly publisherMicrosPerMessage: number
  readonly redisMicrosPerMessage: number
  readonly wallMicrosPerMessage: number
}

const LIMITS = [1_000, 604_800, 86_400] as const

export async function runPublishCost(params: PublishCostParams): Promise<PublishCostRow[]> {
  const redis = await startRedis()
  const publisher = new HeraldPublisher({ redis: redis.url })
  const raw = createRedisClient(parseRedisTarget(redis.url) as RedisTarget, { enableAutoPipelining: true })
  const groups = [{ name: 'redis', pids: () => (redis.pid === undefined ? [] : [redis.pid]) }]
  const messagesAt = (start: number, count: number): Message[] =>
    Array.from({ length: count }, (_, i) => ({
      target: { user: `user-${(start + i) % params.users}` },
      data: { s: start + i, t: Date.now() },
    }))
  const ways: Record<PublishWay, (batch: Message[]) => Promise<unknown[]>> = {
    publishBatch: (batch) => publisher.publishBatch(batch),
    'publish, one a millisecond': async (batch) => {
      const ids: string[] = []
      for (const message of batch) {
        ids.push(await publisher.publish(message.target, message.type, message.data))
        await sleep(1)
      }
      return ids
    },
    'herald_publish per message': (batch) =>
      Promise.all(
        batch.map((message) => {
          // The same checks and encoding publishBatch does, so only the Redis calls differ.
          const { channelKey, data } = encodeMessage(message)
          return raw.call('FCALL', 'herald_publish', 1, streamKey(channelKey), '', data, ...LIMITS)
        }),
      ),
  }
  try {
    await loadHeraldFunctions(raw)
    const rows: PublishCostRow[] = []
    for (let round = 1; round <= params.rounds; round++) {
      for (const way of Object.keys(ways) as PublishWay[]) {
        const messages = way === 'publish, one a millisecond' ? params.pacedMessages : params.messages
        const cpu = process.cpuUsage()
        const before = snapshot(groups)
        const started = performance.now()
        let published = 0
        for (let start = 0; start < messages; start += params.batch)
          published += (await ways[way](messagesAt(start, Math.min(params.batch, messages - start)))).length
        const wallMs = performance.now() - started
        const spent = process.cpuUsage(cpu)
        const redisSeconds = cpuBetween(before, snapshot(groups))['redis'] ?? 0
        const perMessage = (micros: number) => Math.round((micros / messages) * 100) / 100
        rows.push({
          way,
          round,
          messages,
          published,
          publisherMicrosPerMessage: perMessage(spent.user + spent.system),
          redisMicrosPerMessage: perMessage(redisSeconds * 1e6),
          wallMicrosPerMessage: perMessage(wallMs * 1000),
        })
      }
    }
    return rows
  } finally {
    raw.disconnect()
    await publisher.close()
    await redis.stop()
  }
}

export function publishCostTable(rows: readonly PublishCostRow[]): string {
  return markdownTable(
    ['way', 'round', 'messages', 'publisher CPU µs/message', 'Redis CPU µs/message', 'wall µs/message'],
    rows.map((r) => [
      r.way,
      r.round,
      r.messages,
      r.publisherMicrosPerMessage,
      r.redisMicrosPerMessage,
      r.wallMicrosPerMessage,
    ]),
  )
}
