import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { pollUntil, type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FUNCTION_LIBRARY_VERSION, heraldFunctions } from './herald-functions.js'
import { pubsubChannel, streamKey } from './keys.js'
import { HeraldPublisher } from './publisher.js'

const CLI = new URL('../dist/cli.js', import.meta.url).pathname
/** The most of stdin the CLI reads for --data - (cli.ts). */
const MAX_STDIN_BYTES = 16 * 1024 * 1024

function herald(
  args: string[],
  env: Record<string, string> = {},
  // A CLI that never exits is killed after this long, so a hang fails the test instead of leaking.
  killAfterMs = 0,
  stdin: string | Buffer = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { env: { ...process.env, ...env }, timeout: killAfterMs }
    const child = execFile(process.execPath, [CLI, ...args], options, (error, stdout, stderr) => {
      // A process killed by a signal has no exit code: -1, never 0.
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
    })
    // A CLI that exits before reading all of it closes the pipe: not a failure of the test.
    child.stdin?.on('error', () => {})
    child.stdin?.end(stdin)
  })
}

describe('the herald CLI', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(() => redis.stop())

  it('explains itself with --help', async () => {
    const result = await herald(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/herald publish \(--user <id> \| --topic <name>\)/)
    expect(result.stdout).toMatch(/herald tail/)
  })

  it('prints its version and the Redis functions it loads with --version', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    const result = await herald(['--version'])
    expect(result).toEqual({
      code: 0,
      stdout: `herald ${manifest.version} (Redis functions v${FUNCTION_LIBRARY_VERSION})\n`,
      stderr: '',
    })
    // No -v: it reads as "verbose", and would skip the command it was added to.
    expect((await herald(['publish', '--user', 'alice', '--data', '1', '-v'])).code).toBe(2)
  })

  it('publishes and prints the entry id', async () => {
    const result = await herald(['publish', '--user', 'alice', '--type', 'invoice.paid', '--data', '{"invoice":42}'], {
      REDIS_URL: redis.url,
    })
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+-\d+\n$/) })
    expect(await redis.cli('XRANGE', streamKey('u:alice'), '-', '+')).toContain('{"invoice":42}')
  })

  it('refuses bad input with exit code 2 and a reason', async () => {
    for (const args of [
      ['publish', '--user', 'alice', '--data', 'not json'],
      ['publish', '--user', 'a b', '--data', '1'],
      ['publish', '--data', '1'],
      ['frobnicate', '--user', 'a'],
      ['tail', '--user', 'alice', '--history', 'abc'],
      // A name no publish takes is a channel nothing reaches: tailed, it would wait for ever.
      ['tail', '--user', 'a b'],
      ['tail', '--topic', 'x,y', '--history', '3'],
      ['tail', '--user', ''],
    ]) {
      const result = await herald(args, { REDIS_URL: redis.url })
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toMatch(/^herald: /)
    }
  })

  it('refuses every malformed option with exit code 2, which is usage, not the 1 of a Redis failure', async () => {
    for (const args of [
      // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: a missing, ambiguous or unwanted value.
      ['publish', '--user', 'malformed', '--data'],
      ['publish', '--user', 'malformed', '--data', '--type', 'x'],
      ['publish', '--user', 'malformed', '--data', '1', '--help=yes'],
      // ERR_PARSE_ARGS_UNKNOWN_OPTION.
      ['publish', '--user', 'malformed', '--data', '1', '--frob'],
      ['publish', '--user', 'malformed', '--data', '1', '-x'],
    ]) {
      const result = await herald(args, { REDIS_URL: redis.url })
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(/^herald: (Option|Unknown option) '-/)
    }
    expect(await redis.cli('EXISTS', streamKey('u:malformed'))).toBe('0')
  })

  it('names an unknown command before checking its options, and refuses arguments a command does not take', async () => {
    for (const [args, reason] of [
      [[], 'no command given (publish, tail or load-functions)'],
      [['--redis', 'redis://127.0.0.1:1'], 'no command given (publish, tail or load-functions)'],
      [['frob'], 'unknown command "frob" (expected publish, tail or load-functions)'],
      [['frob', '--user', 'a'], 'unknown command "frob" (expected publish, tail or load-functions)'],
      [['publish', 'extra', '--user', 'extra', '--data', '1'], 'unexpected argument "extra"'],
      [['tail', '--user', 'extra', 'more'], 'unexpected argument "more"'],
      [['load-functions', 'now'], 'unexpected argument "now"'],
      [['tail', '--user', 'extra', '--data', '1'], 'tail does not take --data'],
      [['load-functions', '--user', 'extra'], 'load-functions does not take --user'],
      [['publish', '--user', 'extra', '--data', '1', '--history', '3'], 'publish does not take --history'],
    ] as const) {
      // A tail that took its arguments would run until killed.
      const result = await herald([...args], { REDIS_URL: redis.url }, 20_000)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(new RegExp(`^herald: ${reason.replace(/[()]/g, '\\$&')}\n`))
    }
    expect(await redis.cli('EXISTS', streamKey('u:extra'))).toBe('0')
  })

  it('refuses an option given twice with exit code 2 naming it, instead of the last one counting', async () => {
    for (const [args, option] of [
      [['publish', '--user', 'twice-a', '--data', '1', '--user', 'twice-b'], '--user'],
      [['publish', '--user', 'twice-a', '--data=1', '--data', '2'], '--data'],
      [['publish', '--user', 'twice-a', '--data', '1', '--redis', redis.url, '--redis', redis.url], '--redis'],
      [['tail', '--user', 'twice-a', '--history', '1', '--history=2'], '--history'],
      [['load-functions', '--timeout', '100', '--timeout', '200'], '--timeout'],
    ] as const) {
      // A tail that took its arguments would run until killed.
      const result = await herald([...args], { REDIS_URL: redis.url }, 20_000)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(
        new RegExp(`^herald: ${option} is given more than once; give each option once\n`),
      )
    }
    expect(await redis.cli('EXISTS', streamKey('u:twice-a'), streamKey('u:twice-b'))).toBe('0')
  })

  it('trims history as the gateways do, by their HISTORY_MAX_LEN, and refuses a bad one with exit code 2', async () => {
    const key = streamKey('u:long')
    // 1,500 entries, as gateways told HISTORY_MAX_LEN=5000 keep them.
    await redis.cli('EVAL', "for n = 1, 1500 do redis.call('XADD', KEYS[1], '*', 'd', n) end", '1', key)
    // Padded as a value pasted from a ConfigMap may be: read as the gateway reads it.
    const kept = await herald(['publish', '--user', 'long', '--data', '1'], {
      REDIS_URL: ` ${redis.url}\n`,
      // Zero-padded, which the gateway takes too.
      HISTORY_MAX_LEN: ' 00000000000005000 ',
    })
    expect(kept.code, kept.stderr).toBe(0)
    expect(Number(await redis.cli('XLEN', key))).toBe(1501)
    // Unset, the default of 1000 (trimmed in batches: up to an eighth over).
    await herald(['publish', '--user', 'long', '--data', '2'], { REDIS_URL: redis.url })
    expect(Number(await redis.cli('XLEN', key))).toBeLessThan(1200)
    for (const [name, value] of [
      ['HISTORY_MAX_LEN', '0'],
      ['HISTORY_TTL_SECONDS', '59'],
      ['IDEMPOTENCY_TTL_SECONDS', 'x'],
    ]) {
      const refused = await herald(['publish', '--user', 'long', '--data', '3'], {
        REDIS_URL: redis.url,
        [name!]: value!,
      })
      expect(refused.code, `${name}=${value}`).toBe(2)
      expect(refused.stderr).toMatch(new RegExp(`^herald: ${name} must be a whole number from \\d+ to \\d+`))
    }
  })

  it('publishes --data as written, so a 64-bit id keeps its digits', async () => {
    const data = '{ "orderId": 12345678901234567890, "price": 1.10, "zero": -0 }'
    const result = await herald(['publish', '--user', 'exact', '--data', data], { REDIS_URL: redis.url })
    expect(result.code).toBe(0)
    expect(await redis.cli('XRANGE', streamKey('u:exact'), '-', '+')).toContain(
      '{"orderId":12345678901234567890,"price":1.10,"zero":-0}',
    )
  })

  it('reads --data - from stdin, for data larger than one argument may be (128 KiB on Linux)', async () => {
    // 240 KiB of JSON, under the 256 KiB a publish takes: as an argument, E2BIG.
    const data = `{"blob":"${'x'.repeat(240 * 1024)}"}`
    const result = await herald(['publish', '--user', 'piped', '--data', '-'], { REDIS_URL: redis.url }, 0, `${data}\n`)
    expect(result.code, result.stderr).toBe(0)
    const id = result.stdout.trim()
    expect(await redis.cli('XRANGE', streamKey('u:piped'), id, id)).toContain(data)
    const tooLarge = `"${'x'.repeat(256 * 1024)}"`
    const refused = await herald(['publish', '--user', 'piped', '--data=-'], { REDIS_URL: redis.url }, 0, tooLarge)
    expect(refused.code).toBe(2)
    // The SDK's "or raise maxDataBytes" is not for the CLI, which has no such option.
    expect(refused.stderr).toMatch(/^herald: data is larger than 262144 bytes \(262146 bytes of JSON\); publish less\n/)
    for (const [stdin, reason] of [
      ['', 'data must be JSON text'],
      ['{"a":', 'data must be JSON text'],
      // Not read as U+FFFD: published, that would be data nobody sent.
      [Buffer.from([0x22, 0xff, 0x22]), 'data on stdin must be UTF-8'],
      // Read no further than this: endless input would be read until memory ran out.
      [Buffer.alloc(MAX_STDIN_BYTES + 1, 0x20), `data on stdin is over ${MAX_STDIN_BYTES} bytes`],
    ] as const) {
      const bad = await herald(['publish', '--user', 'piped', '--data', '-'], { REDIS_URL: redis.url }, 0, stdin)
      expect(bad.code, String(stdin)).toBe(2)
      expect(bad.stderr, String(stdin)).toMatch(new RegExp(`^herald: ${reason}`))
    }
    expect(await redis.cli('XLEN', streamKey('u:piped'))).toBe('1')
  })

  it('refuses data nested deeper than the gateway takes, with exit code 2', async () => {
    const deep = `${'['.repeat(33)}${']'.repeat(33)}`
    const result = await herald(['publish', '--user', 'deep', '--data', deep], { REDIS_URL: redis.url })
    expect(result).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^herald: data must not nest deeper than 32 levels\n/),
    })
    expect(await redis.cli('EXISTS', streamKey('u:deep'))).toBe('0')
    const fine = `${'['.repeat(32)}${']'.repeat(32)}`
    expect((await herald(['publish', '--user', 'deep', '--data', fine], { REDIS_URL: redis.url })).code).toBe(0)
  })

  it('loads the functions for raw FCALL publishers', async () => {
    await redis.cli('FUNCTION', 'FLUSH')
    const result = await herald(['load-functions'], { REDIS_URL: redis.url })
    expect(result).toMatchObject({ code: 0, stdout: `herald functions v${FUNCTION_LIBRARY_VERSION} loaded\n` })
    expect(await redis.cli('FCALL', 'herald_publish', '1', streamKey('u:olga'), '', '1')).toMatch(/^\d+-1$/)
    const newer = heraldFunctions(1).replace(`contract v${FUNCTION_LIBRARY_VERSION}.`, 'contract v99.')
    await redis.cli('FUNCTION', 'LOAD', 'REPLACE', newer)
    expect(await herald(['load-functions'], { REDIS_URL: redis.url })).toMatchObject({
      code: 0,
      stdout: `herald functions v99 already loaded, newer than this CLI's v${FUNCTION_LIBRARY_VERSION}: left as it is\n`,
    })
  })

  it('fails with exit code 1 when Redis is unreachable', async () => {
    const result = await herald(['publish', '--user', 'alice', '--data', '1', '--redis', 'redis://127.0.0.1:1'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/Redis was not connected \(.*\); nothing was sent/)
  })

  it('gives up on a server that takes the connection but never answers, after --timeout', async () => {
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const url = `redis://127.0.0.1:${(silent.address() as net.AddressInfo).port}`
    try {
      for (const command of [
        ['tail', '--user', 'alice'],
        ['load-functions'],
        ['publish', '--user', 'a', '--data', '1'],
      ]) {
        const result = await herald([...command, '--redis', url, '--timeout', '300'])
        expect(result.code, command[0]).toBe(1)
        expect(result.stderr, command[0]).toMatch(/^herald: [^\n]*(within 300 ms|not reachable)[^\n]*\n$/)
      }
      expect((await herald(['load-functions', '--timeout', '0'])).code).toBe(2)
    } finally {
      silent.close()
    }
  })

  it('fails tail and load-functions with exit code 1 and one line on stderr when Redis cannot be reached', async () => {
    for (const url of ['redis://127.0.0.1:1', 'redis+sentinel://127.0.0.1:1/mymaster', 'redis+cluster://127.0.0.1:1']) {
      for (const command of [['tail', '--user', 'alice'], ['load-functions']]) {
        const result = await herald([...command, '--redis', url], {}, 30_000)
        expect(result.code, `${command[0]} ${url}`).toBe(1)
        expect(result.stderr, `${command[0]} ${url}`).toMatch(/^herald: cannot connect to Redis: [^\n]+\n$/)
        // A Cluster client's own message says only that its slots map failed: the node's reason
        // follows it, and the node's address, which the reason does not give.
        if (url.startsWith('redis+cluster:'))
          expect(result.stderr).toMatch(
            /slots cache\. Connection is closed\. \(the last node tried: 127\.0\.0\.1:1\)\n$/,
          )
      }
    }
  })

  it('refuses a redis URL that selects a database other than 0 as a usage error, naming where it came from', async () => {
    for (const command of [
      ['tail', '--user', 'alice'],
      ['publish', '--user', 'alice', '--data', '1'],
      ['load-functions'],
    ]) {
      const given = await herald([...command, '--redis', `${redis.url}/3`], {}, 30_000)
      expect([given.code, given.stderr.split('\n')[0]], command[0]).toEqual([
        2,
        expect.stringMatching(/^herald: --redis .*database 0/),
      ])
      const inherited = await herald(command, { REDIS_URL: `${redis.url}/3` }, 30_000)
      expect([inherited.code, inherited.stderr.split('\n')[0]], command[0]).toEqual([
        2,
        expect.stringMatching(/^herald: REDIS_URL .*database 0/),
      ])
    }
  })

  it('ends tail quietly when its reader goes away, as a filter does (| head)', async () => {
    await herald(['publish', '--user', 'headed', '--data', '1'], { REDIS_URL: redis.url })
    const child = spawn(process.execPath, [CLI, 'tail', '--user', 'headed', '--history', '1'], {
      env: { ...process.env, REDIS_URL: redis.url },
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    await linesOf(child).lines(1)
    // The reader closes its end, and the next entry has nowhere to go.
    child.stdout.destroy()
    await herald(['publish', '--user', 'headed', '--data', '2'], { REDIS_URL: redis.url })
    expect(await exited).toBe(0)
    expect(stderr).toBe('')
  })

  it('ends tail at Ctrl-C while Redis is stopped, without waiting for it to answer', async () => {
    const stopped = await startRedis()
    try {
      const child = spawn(process.execPath, [CLI, 'tail', '--user', 'wedged', '--timeout', '500'], {
        env: { ...process.env, REDIS_URL: stopped.url },
      })
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      // Following once subscribed to the user's channel.
      await pollUntil('tail subscribed', async () =>
        (await stopped.cli('PUBSUB', 'SHARDNUMSUB', pubsubChannel('u:wedged'))).endsWith('1') ? true : undefined,
      )
      process.kill(stopped.pid!, 'SIGSTOP')
      try {
        child.kill('SIGINT')
        // Exits while Redis is still stopped: a QUIT would wait for an answer that never comes.
        expect(await exited).toBe(0)
      } finally {
        process.kill(stopped.pid!, 'SIGCONT')
      }
    } finally {
      await stopped.stop()
    }
  })

  it("tails as docs/redis-contract.md's publisher user, given what the page says tail adds, with nothing refused", async () => {
    const contract = await readFile(new URL('../../../docs/redis-contract.md', import.meta.url), 'utf8')
    const recipes = contract.match(/^ACL SETUSER herald-publisher .*$/gm) ?? []
    const forTail = recipes.find((recipe) => !recipe.includes(' on '))
    expect(forTail, "docs/redis-contract.md's line for tail").toBeDefined()
    for (const recipe of [recipes[0]!, forTail!])
      await redis.cli(...recipe.replace('>password', '>tail-password').split(' '))
    await herald(['publish', '--user', 'acl', '--data', '1'], { REDIS_URL: redis.url })
    await redis.cli('ACL', 'LOG', 'RESET')
    const child = spawn(process.execPath, [CLI, 'tail', '--user', 'acl', '--history', '5'], {
      env: { ...process.env, REDIS_URL: `redis://herald-publisher:tail-password@127.0.0.1:${redis.port}` },
    })
    const stdout = linesOf(child)
    try {
      await stdout.lines(1)
      await herald(['publish', '--user', 'acl', '--data', '2'], { REDIS_URL: redis.url })
      await stdout.lines(2)
    } finally {
      child.kill('SIGINT')
      await redis.cli('ACL', 'DELUSER', 'herald-publisher')
    }
    expect(
      stdout
        .text()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).data),
    ).toEqual([1, 2])
    expect(await redis.cli('ACL', 'LOG')).toBe('')
  })

  it('tails --history under load: the last entries from before it followed, then live ones, each once and in order', async () => {
    const publisher = new HeraldPublisher({ redis: redis.url })
    let published = 0
    const publish = () => publisher.publish({ user: 'busy' }, 'n', published++)
    for (let n = 0; n < 20; n++) await publish()
    // Published all along, so entries are announced while tail starts and reads its history.
    let publishing = true
    const load = (async () => {
      while (publishing) await Promise.all(Array.from({ length: 50 }, publish))
    })()
    const child = spawn(process.execPath, [CLI, 'tail', '--user', 'busy', '--history', '10'], {
      env: { ...process.env, REDIS_URL: redis.url },
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    try {
      await pollUntil('a thousand lines printed', async () => (output.split('\n').length >= 1000 ? true : undefined), {
        intervalMs: 10,
        maxIntervalMs: 10,
      })
      publishing = false
      await load
      const last = `"data":${published - 1}}`
      await pollUntil('the last entry printed', async () => (output.includes(last) ? true : undefined), {
        intervalMs: 10,
        maxIntervalMs: 10,
      })
    } finally {
      publishing = false
      child.kill('SIGINT')
      await publisher.close()
    }
    const printed = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; data: number })
    expect(new Set(printed.map((entry) => entry.id)).size, 'every id once').toBe(printed.length)
    // Compared as numbers, ms then seq: as text, 999-0 would sort after 1000-0.
    const ids = printed.map((entry) => entry.id.split('-').map(BigInt) as [bigint, bigint])
    for (let i = 1; i < ids.length; i++) {
      const [[ms, seq], [lastMs, lastSeq]] = [ids[i]!, ids[i - 1]!]
      expect(ms > lastMs || (ms === lastMs && seq > lastSeq), `${printed[i]!.id} after ${printed[i - 1]!.id}`).toBe(
        true,
      )
    }
    // The ten history entries, then every entry published since, none missed: a run that ends at the last.
    const first = printed[0]!.data
    expect(printed.map((entry) => entry.data)).toEqual(Array.from({ length: published - first }, (_, i) => first + i))
    expect(printed.length).toBeGreaterThanOrEqual(1000)
  })

  /**
   * `herald tail --user <user> --history 1` on a user with no entries yet, once it has
   * subscribed; what it printed so far, and on stderr. The history covers an entry published
   * after the subscribe but before tail read where it starts: printed live it would not be, and
   * a first entry waited for in vain (once in 6 runs on a loaded host).
   */
  async function tailing(user: string) {
    const child = spawn(process.execPath, [CLI, 'tail', '--user', user, '--history', '1'], {
      env: { ...process.env, REDIS_URL: redis.url },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const channel = pubsubChannel(`u:${user}`)
    await pollUntil(`tail subscribed to ${channel}`, async () =>
      Number((await redis.cli('PUBSUB', 'SHARDNUMSUB', channel)).split('\n')[1]) > 0 ? true : undefined,
    )
    const printed = () =>
      stdout
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { data: unknown }).data)
    const until = (description: string, check: () => boolean) =>
      pollUntil(description, async () => (check() ? true : undefined), { maxIntervalMs: 50 })
    return { child, printed, stderr: () => stderr, until }
  }

  it('tails every entry once and in order across killed subscriber connections: it reads the stream, not the announcements', async () => {
    const publisher = new HeraldPublisher({ redis: redis.url })
    const tail = await tailing('killed')
    try {
      for (let n = 0; n < 300; n++) {
        await publisher.publish({ user: 'killed' }, undefined, n)
        // ioredis resubscribes at once, but what was announced in between is gone.
        if (n === 100 || n === 200) await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
      }
      await tail.until('the last entry printed', () => tail.printed().at(-1) === 299)
      expect(tail.printed()).toEqual(Array.from({ length: 300 }, (_, n) => n))
      expect(tail.stderr()).toBe('')
    } finally {
      tail.child.kill('SIGINT')
      await publisher.close()
    }
  })

  it('says so on stderr when the history no longer reaches back to what it printed, and follows on', async () => {
    const publisher = new HeraldPublisher({ redis: redis.url, historyMaxLen: 8 })
    const tail = await tailing('behind')
    try {
      await publisher.publish({ user: 'behind' }, undefined, 0)
      await tail.until('the first entry printed', () => tail.printed().length === 1)
      // Held still while 40 entries come and all but the last 8 to 9 are trimmed away.
      tail.child.kill('SIGSTOP')
      for (let n = 1; n <= 40; n++) await publisher.publish({ user: 'behind' }, undefined, n)
      tail.child.kill('SIGCONT')
      await tail.until('a warning', () => tail.stderr() !== '')
      expect(tail.stderr()).toMatch(
        /^herald: the history after \d+-\d+ is gone \(trimmed, expired, or lost with Redis's data\): entries published since may not have been printed; following on from \d+-\d+\n$/,
      )
      await publisher.publish({ user: 'behind' }, undefined, 41)
      await tail.until('the entry after the gap printed', () => tail.printed().at(-1) === 41)
      expect(tail.printed()).toEqual([0, 41])
    } finally {
      tail.child.kill('SIGINT')
      await publisher.close()
    }
  })

  it('prints every entry, with no warning, across a FUNCTION FLUSH that kept the data', async () => {
    const publisher = new HeraldPublisher({ redis: redis.url })
    const tail = await tailing('flushed')
    try {
      await publisher.publish({ user: 'flushed' }, undefined, 0)
      await tail.until('the first entry printed', () => tail.printed().length === 1)
      // The library goes and the stream stays: the tail's next read loads it again, into a node
      // that holds keys, so with its dataset start not known, not as a new dataset.
      await redis.cli('FUNCTION', 'FLUSH')
      await pollUntil('the library loaded again', async () =>
        /herald/.test(await redis.cli('FUNCTION', 'LIST', 'LIBRARYNAME', 'herald')) ? true : undefined,
      )
      for (let n = 1; n <= 20; n++) await publisher.publish({ user: 'flushed' }, undefined, n)
      await tail.until('the last entry printed', () => tail.printed().at(-1) === 20)
      expect(tail.printed()).toEqual(Array.from({ length: 21 }, (_, n) => n))
      expect(tail.stderr()).toBe('')
    } finally {
      tail.child.kill('SIGINT')
      await publisher.close()
    }
  })

  it('tails a user: history first, then live entries, their data as stored', async () => {
    await herald(['publish', '--user', 'tailed', '--data', '"before"'], { REDIS_URL: redis.url })
    // Stored by a raw client before the functions refused such data: shown, not fatal.
    await redis.cli('XADD', streamKey('u:tailed'), '*', 'd', 'NaN', 't', 'raw')
    const child = spawn(process.execPath, [CLI, 'tail', '--user', 'tailed', '--history', '5'], {
      env: { ...process.env, REDIS_URL: redis.url },
    })
    const { lines, text } = linesOf(child)
    await lines(1)
    await lines(2)
    // Not an announcement of an entry: not printed.
    await redis.cli('SPUBLISH', 'herald:{u:tailed}:c', 'garbage')
    const exact = '{"n":12345678901234567890}'
    await herald(['publish', '--user', 'tailed', '--type', 'later', '--data', exact], { REDIS_URL: redis.url })
    await lines(3)
    child.kill('SIGINT')
    const printed = text().trim().split('\n')
    expect(printed[2]).toMatch(/,"data":\{"n":12345678901234567890\}\}$/)
    expect(printed.map((line) => JSON.parse(line)).map((p) => [p.type, p.data, p.invalidData])).toEqual([
      [null, 'before', undefined],
      ['raw', null, 'NaN'],
      ['later', JSON.parse(exact), undefined],
    ])
  })
})

/**
 * A spawned tail's stdout so far, and a wait for its first `count` complete lines that fails if
 * it exits first. One listener for the whole run: one per wait appended each later chunk once
 * per wait, printing an entry twice that tail printed once.
 */
function linesOf(child: ChildProcessWithoutNullStreams) {
  let output = ''
  let waiter: (() => void) | undefined
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    waiter?.()
  })
  const lines = (count: number) =>
    new Promise<void>((resolve, reject) => {
      waiter = () => {
        if (output.split('\n').length > count) resolve()
      }
      if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`tail exited: ${output}`))
      child.once('exit', () => reject(new Error(`tail exited: ${output}`)))
      waiter()
    })
  return { lines, text: () => output }
}
