import { once } from 'node:events'
import type { RedisClient } from '@herald/publisher'
import { createRedisClient } from '@herald/publisher/internal'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type CareContext, countDrops, reviveWhenEnded } from './connection-care.js'

describe('connection care', () => {
  let redis: RedisServer
  const clients: RedisClient[] = []
  const lines: { msg: string; connection?: string }[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  let closing = false
  const care: CareContext = { logger, closing: () => closing, current: () => true }

  /** A client connected, with `care` attached before it was ready, as the broker attaches it. */
  async function readyClient(attach: (client: RedisClient) => void = () => {}): Promise<RedisClient> {
    const client = createRedisClient({ kind: 'standalone', url: redis.url }, { connectionName: 'care-test' })
    client.on('error', () => {})
    clients.push(client)
    attach(client)
    await once(client, 'ready')
    return client
  }

  /** Ends clients as the broker's close() does: 'end' comes a tick later, still closing. */
  async function closedOnPurpose(...ending: RedisClient[]): Promise<void> {
    closing = true
    await Promise.all(
      ending.map(async (client) => {
        if (client.status === 'end') return
        // One waiting to reconnect has no socket: disconnect() cancels the wait and emits nothing.
        const ended = client.status === 'reconnecting' ? undefined : once(client, 'end')
        client.disconnect()
        await ended
      }),
    )
    closing = false
  }

  /** Kills the client's connection from the server's side: a clean close, no error. */
  async function killed(client: RedisClient): Promise<void> {
    const id = String(await client.client('ID'))
    const closed = once(client, 'close')
    expect(await redis.cli('CLIENT', 'KILL', 'ID', id)).toBe('1')
    await closed
  }

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterEach(async () => {
    await closedOnPurpose(...clients.splice(0))
    lines.length = 0
  })
  afterAll(() => redis.stop())

  it('connects again a client that ended without being closed, logging it once each way', async () => {
    let backs = 0
    const client = await readyClient((c) => reviveWhenEnded(c, 'commands', care, () => backs++))
    // disconnect() ends the client for good, as ioredis does when a reconnect is abandoned.
    const ended = once(client, 'end')
    client.disconnect()
    await ended
    await once(client, 'ready')
    expect(await client.ping()).toBe('PONG')
    expect(backs).toBe(1)
    expect(lines.map(({ msg, connection }) => `${connection}: ${msg}`)).toEqual([
      'commands: redis connection ended without being closed; connecting it again',
      'commands: redis connection back after it had ended',
    ])
  })

  it('keeps trying a revive whose connect fails, logging the end once and the return once', async () => {
    // No retries of its own: each failed connect ends the client again, as a revive's can.
    const client = new Redis(redis.url, { retryStrategy: () => null })
    client.on('error', () => {})
    clients.push(client)
    reviveWhenEnded(client, 'commands', care)
    await once(client, 'ready')
    let ends = 0
    const endedTwice = new Promise<void>((resolve) =>
      client.on('end', () => {
        if (++ends === 2) resolve()
      }),
    )
    await redis.kill()
    // The second end is the revive's connect, refused while Redis is down.
    await endedTwice
    await redis.restart()
    await once(client, 'ready')
    expect(await client.ping()).toBe('PONG')
    expect(lines.map(({ msg, connection }) => `${connection}: ${msg}`)).toEqual([
      'commands: redis connection ended without being closed; connecting it again',
      'commands: redis connection back after it had ended',
    ])
  })

  it('does not connect again a client ended before its broker began closing', async () => {
    let brokerClosing = false
    const ending = await readyClient((c) => reviveWhenEnded(c, 'commands', { ...care, closing: () => brokerClosing }))
    const marker = await readyClient((c) => reviveWhenEnded(c, 'publishing', care))
    const ended = once(ending, 'end')
    ending.disconnect()
    await ended
    // close() begins during the pause before the revive; the marker's revive is due after it.
    brokerClosing = true
    marker.disconnect()
    await once(marker, 'ready')
    expect(ending.status).toBe('end')
  })

  it('leaves ended a client the broker closed, or no longer uses', async () => {
    const closed = await readyClient()
    const replaced = await readyClient()
    const marker = await readyClient()
    reviveWhenEnded(closed, 'commands', care)
    reviveWhenEnded(replaced, 'subscriber', { ...care, current: () => false })
    reviveWhenEnded(marker, 'publishing', care)
    await closedOnPurpose(closed)
    const replacedEnded = once(replaced, 'end')
    replaced.disconnect()
    await replacedEnded
    // The marker, ended after both, is revived: once it is back, theirs would have been too.
    marker.disconnect()
    await once(marker, 'ready')
    expect([closed.status, replaced.status]).toEqual(['end', 'end'])
    expect(lines.filter(({ msg }) => msg.includes('ended without being closed')).map((l) => l.connection)).toEqual([
      'publishing',
    ])
  })

  it('counts each clean drop once, but not one that follows a counted error, nor one while closing', async () => {
    let drops = 0
    const client = await readyClient((c) => countDrops(c, true, care, () => drops++))
    await killed(client)
    expect(drops).toBe(1)
    await once(client, 'ready')
    // An error counted for the connection (by the broker's error handler) covers its close.
    client.emit('error', new Error('counted elsewhere'))
    await killed(client)
    await once(client, 'ready')
    closing = true
    await killed(client)
    closing = false
    await once(client, 'ready')
    await killed(client)
    expect(drops).toBe(2)
  })

  it('does not count the drop of a client no longer in use (a rebuilt subscriber)', async () => {
    let drops = 0
    const replaced = await readyClient((c) => countDrops(c, true, { ...care, current: () => false }, () => drops++))
    await killed(replaced)
    expect(drops).toBe(0)
  })
})
