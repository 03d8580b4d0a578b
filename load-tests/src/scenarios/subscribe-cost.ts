/**
 * What receiving a sharded Pub/Sub message costs a subscriber, apart from delivering it: a
 * subscriber connected as the gateway's is (RESP2) beside one with ioredis's defaults (RESP3),
 * each in a process of its own, both subscribed to the same users' channels, so that each round's
 * messages (`herald_publish_batch` announcements from `@herald/publisher`) reach both at once.
 * Reports each subscriber's CPU per message. ioredis's decoding is most of the gateway's
 * JavaScript per unicast delivery, and the figure to check after an ioredis upgrade (and its
 * patch, `patches/`). A diagnostic: it prints, and writes no result file.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { HeraldPublisher, type Message } from '@herald/publisher'
import { encodeMessage, pubsubChannel } from '@herald/publisher/internal'
import { startRedis } from '@herald/redis-harness'
import { markdownTable } from '../report/markdown-table.js'
import type { SubscriberCommand, SubscriberReply, SubscriberWay } from './subscriber-process.js'

export interface SubscribeCostParams {
  readonly messages: number
  readonly users: number
  /** Messages per publishBatch call, as the load scenarios' pacer sends them. */
  readonly batch: number
  readonly rounds: number
}

export interface SubscribeCostRow {
  readonly way: SubscriberWay
  readonly round: number
  readonly messages: number
  /** Messages the subscriber counted: all of them, or the round failed. */
  readonly received: number
  readonly userMicrosPerMessage: number
  readonly systemMicrosPerMessage: number
}

const SUBSCRIBER = new URL('./subscriber-process.js', import.meta.url)
const WAYS: readonly SubscriberWay[] = ['herald', 'ioredis-default']
const REPLY_TIMEOUT_MS = 60_000

export async function runSubscribeCost(params: SubscribeCostParams): Promise<SubscribeCostRow[]> {
  const redis = await startRedis()
  const publisher = new HeraldPublisher({ redis: redis.url })
  const users = benchUsers(params.users)
  const subscribers = WAYS.map((way) =>
    fork(SUBSCRIBER, [redis.url, way, String(params.users)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    }),
  )
  try {
    await Promise.all(subscribers.map((subscriber) => nextReply(subscriber, 'ready')))
    const rows: SubscribeCostRow[] = []
    for (let round = 1; round <= params.rounds; round++) {
      const command: SubscriberCommand = { type: 'arm', messages: params.messages }
      const replies = subscribers.map((subscriber) => {
        const armed = nextReply(subscriber, 'armed')
        subscriber.send(command)
        return armed
      })
      await Promise.all(replies)
      const done = subscribers.map((subscriber) => nextReply(subscriber, 'done'))
      for (let start = 0; start < params.messages; start += params.batch) {
        const count = Math.min(params.batch, params.messages - start)
        const batch: Message[] = Array.from({ length: count }, (_, i) => ({
          target: { user: users[(start + i) % users.length]! },
          data: { s: start + i, t: Date.now() },
        }))
        await publisher.publishBatch(batch)
      }
      for (const [i, reply] of (await Promise.all(done)).entries()) {
        const perMessage = (micros: number) => Math.round((micros / params.messages) * 100) / 100
        rows.push({
          way: WAYS[i]!,
          round,
          messages: params.messages,
          received: reply.received,
          userMicrosPerMessage: perMessage(reply.userMicros),
          systemMicrosPerMessage: perMessage(reply.systemMicros),
        })
      }
    }
    return rows
  } finally {
    for (const subscriber of subscribers) subscriber.kill()
    await publisher.close()
    await redis.stop()
  }
}

export function benchUsers(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `user-${i}`)
}

/** The sharded channels the users' messages are announced on. */
export function channelsOf(users: readonly string[]): string[] {
  return users.map((user) => pubsubChannel(encodeMessage({ target: { user }, data: 0 }).channelKey))
}

/** The subscriber's next reply of that type; a subscriber that exits or stays silent fails the run. */
function nextReply<T extends SubscriberReply['type']>(
  subscriber: ChildProcess,
  type: T,
): Promise<Extract<SubscriberReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => settle(new Error(`a subscriber sent no '${type}' in ${REPLY_TIMEOUT_MS} ms`)),
      REPLY_TIMEOUT_MS,
    )
    const onMessage = (reply: SubscriberReply) => {
      if (reply.type === type) settle(undefined, reply as Extract<SubscriberReply, { type: T }>)
    }
    const onExit = (code: number | null) => settle(new Error(`a subscriber exited (${code}) before its '${type}'`))
    function settle(error: Error | undefined, reply?: Extract<SubscriberReply, { type: T }>) {
      clearTimeout(timer)
      subscriber.off('message', onMessage)
      subscriber.off('exit', onExit)
      if (error === undefined) resolve(reply!)
      else reject(error)
    }
    subscriber.on('message', onMessage)
    subscriber.once('exit', onExit)
  })
}

export function subscribeCostTable(rows: readonly SubscribeCostRow[]): string {
  return markdownTable(
    ['subscriber', 'round', 'messages', 'received', 'user CPU µs/message', 'kernel CPU µs/message'],
    rows.map((r) => [r.way, r.round, r.messages, r.received, r.userMicrosPerMessage, r.systemMicrosPerMessage]),
  )
}
