import { readFile } from 'node:fs/promises'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { callHeraldFunction, loadHeraldFunctions } from './functions.js'
import { FUNCTION_LIBRARY_VERSION, heraldFunctions, parseHeraldFunctions } from './herald-functions.js'
import { streamKey } from './keys.js'
import { HeraldPublisher } from './publisher.js'
import { refusalOf } from './test/refusal.js'

describe('heraldFunctions and parseHeraldFunctions', () => {
  it('write and read back the version and the dataset start', () => {
    expect(parseHeraldFunctions(heraldFunctions(1_795_281_201_123))).toEqual({
      version: FUNCTION_LIBRARY_VERSION,
      datasetSinceMs: 1_795_281_201_123,
    })
    // Version 3 recorded no dataset start.
    expect(parseHeraldFunctions('#!lua name=herald\n-- Herald Redis contract v3. See docs.\n')).toEqual({
      version: 3,
      datasetSinceMs: 0,
    })
    expect(parseHeraldFunctions('#!lua name=herald\nreturn 1\n')).toBeUndefined()
    expect(() => heraldFunctions(-1)).toThrow(RangeError)
    expect(() => heraldFunctions(1.5)).toThrow(RangeError)
  })
})

describe('loading the functions', () => {
  let redis: RedisServer
  let client: Redis
  const installed = async () => {
    const reply = (await client.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'herald', 'WITHCODE')) as unknown[][]
    const library = reply[0]!
    return String(library[library.indexOf('library_code') + 1])
  }
  const redisNow = async () => {
    const [seconds, micros] = (await client.call('TIME')) as [string, string]
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
  }

  beforeAll(async () => {
    redis = await startRedis()
    client = new Redis(redis.url)
  })
  afterAll(async () => {
    client.disconnect()
    await redis.stop()
  })
  beforeEach(async () => {
    await client.call('FUNCTION', 'FLUSH')
    await client.flushall()
  })

  it('records when the library came into an empty node, by its clock', async () => {
    const before = await redisNow()
    await loadHeraldFunctions(client)
    const after = await redisNow()
    const { version, datasetSinceMs } = parseHeraldFunctions(await installed())!
    expect(version).toBe(FUNCTION_LIBRARY_VERSION)
    expect(datasetSinceMs).toBeGreaterThanOrEqual(before)
    expect(datasetSinceMs).toBeLessThanOrEqual(after)
  })

  it("reads a stream carried over from before the library's start (a slot migrated in) as any other", async () => {
    await loadHeraldFunctions(client)
    // Entries older than the library, as MIGRATE brings them to a master that got it only then.
    const moved = streamKey('u:moved')
    await client.xadd(moved, '1000-1', 'd', '1', 't', '')
    await client.xadd(moved, '1000-2', 'd', '2', 't', '')
    const read = (stream: string, after: string) =>
      callHeraldFunction(client, true, 'herald_read', [stream], [after, '10', '60'])
    expect(await read(moved, '1000-1')).toEqual(['entries', '1000-2', '', '2'])
    expect(await read(moved, '1000-0')).toEqual(['entries', '1000-1', '', '1', '1000-2', '', '2'])
    // A stream a publish began after the start, and one that is gone: a position from before
    // the start is from a lost dataset, whatever else the node holds (another app's key).
    await client.set('another-app:key', '1')
    const published = streamKey('u:published')
    await callHeraldFunction(client, false, 'herald_publish', [published], ['', '1'])
    expect(await read(published, '1000-1')).toEqual(['trimmed'])
    expect(await read(streamKey('u:gone'), '1000-1')).toEqual(['trimmed'])
  })

  it('leaves its own version alone, so the dataset start stays put across loads', async () => {
    await loadHeraldFunctions(client)
    const first = await installed()
    await loadHeraldFunctions(client)
    expect(await installed()).toBe(first)
  })

  it('upgrades an older version keeping its dataset start, and never downgrades a newer one', async () => {
    const older = heraldFunctions(123).replace(`contract v${FUNCTION_LIBRARY_VERSION}.`, 'contract v3.')
    await client.call('FUNCTION', 'LOAD', older)
    await loadHeraldFunctions(client)
    expect(await installed()).toBe(heraldFunctions(123))

    const newer = heraldFunctions(456).replace(`contract v${FUNCTION_LIBRARY_VERSION}.`, 'contract v99.')
    await client.call('FUNCTION', 'LOAD', 'REPLACE', newer)
    await loadHeraldFunctions(client)
    expect(await installed()).toBe(newer)
  })

  it('sends one load for all the calls that find the library missing at once', async () => {
    await client.config('RESETSTAT')
    const stream = streamKey('u:storm')
    const tails = Array.from({ length: 20 }, () => callHeraldFunction(client, true, 'herald_tail', [stream], []))
    for (const tail of await Promise.all(tails)) expect(tail).toMatch(/^\d+-0$/)
    const stats = (await client.info('commandstats')) as string
    expect(/cmdstat_function\|list:calls=(\d+)/.exec(stats)?.[1]).toBe('1')
    expect(/cmdstat_function\|load:calls=(\d+)/.exec(stats)?.[1]).toBe('1')
  })

  it("answers herald_tails with each stream's herald_tail, in the order of its keys", async () => {
    const [published, missing] = [streamKey('u:tails-1'), streamKey('u:tails-2')]
    const id = String(await callHeraldFunction(client, false, 'herald_publish', [published], ['', '1']))
    const tails = (await callHeraldFunction(client, true, 'herald_tails', [missing, published], [])) as string[]
    expect(tails).toHaveLength(2)
    // A stream that does not exist starts at Redis's clock, as herald_tail answers it.
    expect(tails[0]).toMatch(/^\d+-0$/)
    expect(Number.parseInt(tails[0]!, 10)).toBeGreaterThanOrEqual(Number.parseInt(id, 10))
    expect(tails[1]).toBe(id)
    expect(await callHeraldFunction(client, true, 'herald_tail', [published], [])).toBe(id)
    expect(await callHeraldFunction(client, true, 'herald_tails', [], [])).toEqual([])
  })

  it('lets loaders racing on an empty node agree on one library', async () => {
    const loaders = Array.from({ length: 5 }, () => new Redis(redis.url))
    try {
      await Promise.all(loaders.map((loader) => loadHeraldFunctions(loader)))
      const code = await installed()
      expect(parseHeraldFunctions(code)?.version).toBe(FUNCTION_LIBRARY_VERSION)
      await Promise.all(loaders.map((loader) => loadHeraldFunctions(loader)))
      expect(await installed()).toBe(code)
    } finally {
      for (const loader of loaders) loader.disconnect()
    }
  })
})

describe('herald_read across a Redis restart without persistence', () => {
  let redis: RedisServer
  let client: Redis
  const stream = streamKey('u:quinn')
  const publish = async (data: string) =>
    String(await callHeraldFunction(client, false, 'herald_publish', [stream], ['', data]))
  const read = (after: string, ...extra: string[]) =>
    callHeraldFunction(client, true, 'herald_read', [stream], [after, 10, 3600, ...extra])

  beforeEach(async () => {
    redis = await startRedis()
    client = new Redis(redis.url)
  })
  afterEach(async () => {
    client.disconnect()
    await redis.stop()
  })

  it('answers trimmed for any position of the lost dataset, even from a gateway that followed it live', async () => {
    const seen = await publish('"seen"')
    await publish('"missed: lost in the restart"')
    await redis.kill()
    await redis.restart()
    // The stream is gone, and so is the library: the next call loads it with a new dataset start.
    expect(await read(seen)).toEqual(['trimmed'])
    // Version 4 let a catching-up gateway skip the check; Redis acknowledges a publish before it
    // pushes it to subscribers, so no gateway can vouch that it saw everything.
    expect(await read(seen, 'catch-up')).toEqual(['trimmed'])
    // Recreated since: still trimmed.
    const fresh = await publish('"after the restart"')
    expect(await read(seen)).toEqual(['trimmed'])
    // Positions of the new dataset resume exactly.
    const tail = String(await callHeraldFunction(client, true, 'herald_tail', [streamKey('u:rosa')], []))
    expect(await callHeraldFunction(client, true, 'herald_read', [streamKey('u:rosa')], [tail, 10, 3600])).toEqual([
      'entries',
    ])
    expect(await read(fresh)).toEqual(['entries'])
  })
})

describe('publishing as a Redis user that may not announce', () => {
  it('refuses before writing anything, so a retry with the idempotency key publishes it whole', async () => {
    const redis = await startRedis()
    const admin = new Redis(redis.url)
    // Keys, but no channels: what Redis 7 gives a new ACL user unless told otherwise.
    await admin.call('ACL', 'SETUSER', 'publisher', 'on', '>publisher-password', '~*', 'resetchannels', '+@all')
    const publisher = new Redis({ port: redis.port, username: 'publisher', password: 'publisher-password' })
    const stream = streamKey('u:ida')
    const idempotency = `${stream.slice(0, -1)}i:k1`
    const publish = () => callHeraldFunction(publisher, false, 'herald_publish', [stream, idempotency], ['', '1'])
    try {
      await loadHeraldFunctions(admin)
      await expect(publish()).rejects.toThrow(/HERALD_ERR_NOPERM .*may not SPUBLISH to herald:\{u:ida\}:c/)
      // The SDK says so, and does not invite a retry as though the publish might have been applied.
      const sdk = new HeraldPublisher({ redis: `redis://publisher:publisher-password@127.0.0.1:${redis.port}` })
      expect(await refusalOf(() => sdk.publish({ user: 'ida' }, undefined, 1))).toMatch(
        /^HERALD_ERR_REDIS: Redis refused the publish \(HERALD_ERR_NOPERM .*\); the call it refused wrote nothing$/,
      )
      await sdk.close()
      expect(await admin.xlen(stream)).toBe(0)
      expect(await admin.exists(idempotency)).toBe(0)
      // Granted the channels, the retry publishes and announces it: nothing was half-done.
      await admin.call('ACL', 'SETUSER', 'publisher', '&herald:*')
      const subscriber = new Redis(redis.url)
      const announced = new Promise<string>((resolve) =>
        subscriber.on('smessage', (_channel, message) => resolve(message)),
      )
      await subscriber.ssubscribe(`${stream.slice(0, -1)}c`)
      const id = String(await publish())
      expect(await announced).toBe(`${id}\n\n1`)
      subscriber.disconnect()
    } finally {
      publisher.disconnect()
      admin.disconnect()
      await redis.stop()
    }
  })
})

describe("docs/redis-contract.md's least-privilege publisher user", () => {
  const publisherRecipe = async () => {
    const contract = await readFile(new URL('../../../docs/redis-contract.md', import.meta.url), 'utf8')
    return /^ACL SETUSER herald-publisher .*$/m.exec(contract)?.[0]
  }

  it('publishes, loading the library itself, with no command refused and no warning', async () => {
    const recipe = await publisherRecipe()
    expect(recipe, 'the recipe in docs/redis-contract.md').toBeDefined()
    const redis = await startRedis()
    const admin = new Redis(redis.url)
    const warnings: unknown[] = []
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args) => void warnings.push(args))
    try {
      await admin.call(...(recipe!.replace('>password', '>publisher-password').split(' ') as [string, ...string[]]))
      const publisher = new HeraldPublisher({
        redis: `redis://herald-publisher:publisher-password@127.0.0.1:${redis.port}`,
        waitForReplicas: null,
        // Short, so that publishing trims.
        historyMaxLen: 8,
      })
      await publisher.publish({ user: 'least' }, 'note', { n: 1 }, { idempotencyKey: 'k' })
      await publisher.publishBatch([
        { target: { topic: 'news' }, data: 2 },
        ...Array.from({ length: 20 }, (_, n) => ({ target: { user: 'least' }, data: n })),
      ])
      await publisher.close()
      expect(await admin.call('ACL', 'LOG')).toEqual([])
      expect(await admin.xlen(streamKey('u:least'))).toBeLessThan(10)
      expect(warnings).toEqual([])
    } finally {
      warn.mockRestore()
      admin.disconnect()
      await redis.stop()
    }
  })

  it('never trims, nor begins, a history it could not record deletions in: no resume skips an entry silently', async () => {
    const recipe = (await publisherRecipe())!.replace('>password', '>publisher-password').split(' ')
    const redis = await startRedis()
    const admin = new Redis(redis.url)
    const publisher = new Redis({ port: redis.port, username: 'herald-publisher', password: 'publisher-password' })
    const publish = (stream: string, n: number) =>
      callHeraldFunction(publisher, false, 'herald_publish', [stream], ['', String(n), '4', '60']).then(
        () => 'ok',
        (error: Error) => error.message,
      )
    try {
      await loadHeraldFunctions(admin)
      for (const missing of ['xtrim', 'xrange', 'xsetid']) {
        await admin.call('ACL', 'SETUSER', 'herald-publisher', 'reset')
        await admin.call(recipe[0]!, ...recipe.slice(1), `-${missing}`)
        // A new history: refused before anything is written.
        const fresh = streamKey(`u:fresh${missing}`)
        expect(await publish(fresh, 1)).toMatch(new RegExp(`^NOPERM this Redis user may not ${missing} `, 'i'))
        expect(await admin.exists(fresh)).toBe(0)
        // A history due for a trim: refused before the trim, which never happens unrecorded.
        const stream = streamKey(`u:full${missing}`)
        for (let n = 0; n < 5; n++) await admin.xadd(stream, '*', 'd', String(n), 't', '')
        const [first] = (await admin.xrange(stream, '-', '+'))[0]!
        expect(await publish(stream, 5)).toMatch(/^NOPERM /)
        expect((await admin.xrange(stream, '-', '+'))[0]![0]).toBe(first)
        const read = await callHeraldFunction(admin, true, 'herald_read', [stream], [first, 10, 60])
        expect((read as string[])[0]).toBe('entries')
      }
    } finally {
      publisher.disconnect()
      admin.disconnect()
      await redis.stop()
    }
  })
})
