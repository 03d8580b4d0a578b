/**
 * One sharded Pub/Sub subscriber for the subscribe-cost diagnostic, in a process of its own so
 * that its CPU is its own: `herald` connects as the gateway's subscriber does (through
 * `createRedisClient`), `ioredis-default` as ioredis would by itself. It subscribes to the
 * channels of the diagnostic's users (argv: Redis URL, way, users) and answers `arm` commands over IPC:
 * it counts the messages of the next round and reports its CPU once all have arrived.
 */
import { createRedisClient, parseRedisTarget, type RedisTarget } from '@herald/publisher/internal'
import { Redis } from 'ioredis'
import { benchUsers, channelsOf } from './subscribe-cost.js'

export type SubscriberWay = 'herald' | 'ioredis-default'
export type SubscriberCommand = { readonly type: 'arm'; readonly messages: number }
export type SubscriberReply =
  | { readonly type: 'ready' }
  | { readonly type: 'armed' }
  | { readonly type: 'done'; readonly received: number; readonly userMicros: number; readonly systemMicros: number }

const [url, way, users] = process.argv.slice(2)
if (url === undefined || (way !== 'herald' && way !== 'ioredis-default') || !(Number(users) > 0))
  throw new Error('subscriber-process: give a Redis URL, a way and the number of users as arguments')

const reply = (message: SubscriberReply) => process.send?.(message)
const client =
  way === 'herald'
    ? createRedisClient(parseRedisTarget(url) as RedisTarget, { autoResubscribe: false })
    : new Redis(url)
let expected = 0
let received = 0
let cpu = process.cpuUsage()
client.on('smessage', () => {
  if (++received !== expected) return
  const spent = process.cpuUsage(cpu)
  reply({ type: 'done', received, userMicros: spent.user, systemMicros: spent.system })
})
process.on('message', (command: SubscriberCommand) => {
  expected = command.messages
  received = 0
  cpu = process.cpuUsage()
  reply({ type: 'armed' })
})
process.on('disconnect', () => client.disconnect())
await client.ssubscribe(...channelsOf(benchUsers(Number(users))))
reply({ type: 'ready' })
