#!/usr/bin/env node
/**
 * `herald`: publish and watch Herald notifications from a shell, through
 * Redis. Reads REDIS_URL (or --redis), and the gateways' history settings
 * from their own variables. Exit codes: 0 ok, 1 Redis failure, 2 usage or
 * validation error.
 */

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { whenConnected } from './connection-ready.js'
import { messageOf } from './describe-value.js'
import { callHeraldFunction, loadHeraldFunctions, type RedisClient } from './functions.js'
import { FUNCTION_LIBRARY_VERSION } from './herald-functions.js'
import { pubsubChannel, streamKey } from './keys.js'
import { channelKeyOf, type Target } from './message.js'
import { PublishError, redisErrorMessage } from './publish-error.js'
import { HeraldPublisher } from './publisher.js'
import { DEFAULT_HISTORY_TTL_SECONDS, HISTORY_SETTING_RANGES } from './publisher-options.js'
import { compactJson, JsonText } from './raw-json.js'
import { createRedisClient, parseRedisTarget, type RedisTarget } from './redis-target.js'
import { settledWithin } from './settled-within.js'
import { inShellTerms } from './shell-terms.js'
import { READ_COUNT, READ_MAX_BYTES, StreamFollower } from './stream-follower.js'

/** How often tail reads the stream when no announcement woke it. */
const FOLLOW_POLL_MS = 1000

const HELP = `Usage:
  herald publish (--user <id> | --topic <name>) [--type <type>] --data <json> [--idempotency-key <key>]
  herald tail (--user <id> | --topic <name>) [--history <n>]
  herald load-functions
  herald --help | --version

Options:
  --redis <url>   redis://, redis+sentinel://h:p,h:p/<master> or redis+cluster://h:p,h:p
                  (default: $REDIS_URL, else redis://127.0.0.1:6379); an IPv6 host in
                  brackets, [fd00::1]:7000
  --data <json>   with publish: the entry's data; - reads it from stdin, for data over the
                  128 KiB one argument may take on Linux
  --history <n>   with tail: print the last n entries before following (default 0)
  --timeout <ms>  how long to wait for Redis to answer before giving up (default 10000)

publish prints the new entry id. tail prints one JSON line per entry:
  {"id": "...", "type": "...", "data": ...}
load-functions loads Herald's Redis functions on every master that lacks them, for
backends that publish with a raw FCALL before any gateway has started.

publish trims and expires history as the gateways do, from the same variables; set them
as the gateways have them: HISTORY_MAX_LEN (default 1000), HISTORY_TTL_SECONDS (604800),
IDEMPOTENCY_TTL_SECONDS (86400).
`

const OPTIONS = {
  user: { type: 'string' },
  topic: { type: 'string' },
  type: { type: 'string' },
  data: { type: 'string' },
  'idempotency-key': { type: 'string' },
  redis: { type: 'string' },
  history: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // No -v: read as "verbose", it would print the version and skip the command it was added to.
  version: { type: 'boolean' },
} as const

/** The options each command takes besides --redis, --timeout and --help; any other is refused. */
const COMMAND_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  publish: ['user', 'topic', 'type', 'data', 'idempotency-key'],
  tail: ['user', 'topic', 'history'],
  'load-functions': [],
}

/** PublishError codes for what the caller gave, not for Redis: exit 2. */
const CALLER_ERRORS: ReadonlySet<string> = new Set(['HERALD_ERR_INVALID', 'HERALD_ERR_DATA_TOO_LARGE'])

class UsageError extends Error {}

/** How long the CLI waits for Redis to answer a connection or a command before it gives up (exit 1); --timeout. */
let answerTimeoutMs = 10_000

async function main(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parsed(argv)
  const command = positionals[0]
  if (values.help === true) {
    process.stdout.write(HELP)
    return 0
  }
  if (values.version === true) {
    // The functions' version too, to set beside what Redis holds: the newest any node loaded.
    process.stdout.write(`herald ${packageVersion()} (Redis functions v${FUNCTION_LIBRARY_VERSION})\n`)
    return 0
  }
  // A usage error like any other: its reason, then the usage, on stderr (exit 2).
  if (command === undefined) throw new UsageError('no command given (publish, tail or load-functions)')
  // The command first: `herald frob` is an unknown command, not a missing --user.
  const own = Object.hasOwn(COMMAND_OPTIONS, command) ? COMMAND_OPTIONS[command] : undefined
  if (own === undefined) {
    throw new UsageError(`unknown command ${JSON.stringify(command)} (expected publish, tail or load-functions)`)
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`)
  const foreign = Object.keys(values).find((name) => !own.includes(name) && !['redis', 'timeout'].includes(name))
  if (foreign !== undefined) throw new UsageError(`${command} does not take --${foreign}`)
  // parseArgs keeps the last of a repeated option, and a script that adds `--user b` to a line
  // with `--user a` means one of them; which is a guess, so neither is taken (the HTTP publish
  // refuses a repeated field alike).
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once; give each option once`)
    seen.add(token.name)
  }
  // As the gateway reads REDIS_URL: trimmed, and blank counts as unset.
  const fromEnvironment = process.env['REDIS_URL']?.trim() || undefined
  const redisUrl = values.redis ?? fromEnvironment ?? 'redis://127.0.0.1:6379'
  // Checked here for every command, naming where the URL came from.
  redisTargetOf(redisUrl, values.redis === undefined && fromEnvironment !== undefined ? 'REDIS_URL' : '--redis')
  if (values.timeout !== undefined) answerTimeoutMs = wholeNumber('--timeout', values.timeout, 1, 600_000)
  // A reader that goes away (`| head`, quitting `less`) ends the command, as it ends any filter.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    process.stderr.write(`herald: cannot write to stdout: ${error.message}\n`)
    process.exit(1)
  })
  if (command === 'load-functions') return loadFunctions(redisUrl)
  const target = targetOf(values.user, values.topic)
  if (command === 'publish') {
    if (values.data === undefined) throw new UsageError('--data is required')
    // `-` is not JSON, so it can mean stdin: Linux takes at most 128 KiB in one argument, half
    // of the 256 KiB a publish takes.
    const text = values.data === '-' ? await stdinText() : values.data
    // As written: JSON.parse then JSON.stringify would round 12345678901234567890.
    let data: JsonText
    try {
      data = new JsonText(text)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    const publisher = new HeraldPublisher({ redis: redisUrl, timeoutMs: answerTimeoutMs, ...historySettings() })
    const key = values['idempotency-key']
    try {
      const id = await publisher.publish(target, values.type, data, key === undefined ? {} : { idempotencyKey: key })
      process.stdout.write(`${id}\n`)
    } catch (error) {
      throw error instanceof PublishError ? inShellTerms(error, key !== undefined) : error
    } finally {
      await publisher.close()
    }
    return 0
  }
  return tail(redisUrl, target, historyCount(values.history))
}

/** This package's version, read from its package.json (beside dist/ in the workspace and in a tarball alike). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: unknown
  }
  return typeof manifest.version === 'string' ? manifest.version : 'unknown'
}

/** The arguments parsed; any malformed option (every ERR_PARSE_ARGS_* of parseArgs) is a usage error. */
function parsed(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true })
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message)
    throw error
  }
}

/**
 * The most of stdin read for --data -: 64 times the largest data a publish takes, room for the
 * whitespace of JSON written for people, which is published compact. Endless input
 * (`< /dev/zero`) would otherwise be read until memory runs out.
 */
const MAX_STDIN_BYTES = 16 * 1024 * 1024

/** All of stdin, as UTF-8; anything else is refused rather than published with U+FFFD in it. */
async function stdinText(): Promise<string> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer)
    length += (chunk as Buffer).length
    if (length > MAX_STDIN_BYTES) throw new UsageError(`data on stdin is over ${MAX_STDIN_BYTES} bytes`)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))
  } catch {
    throw new UsageError('data on stdin must be UTF-8')
  }
}

function historyCount(text: string | undefined): number {
  return text === undefined ? 0 : wholeNumber('--history', text, 0, 999_999)
}

/**
 * The gateways' HISTORY_MAX_LEN, HISTORY_TTL_SECONDS and IDEMPOTENCY_TTL_SECONDS, with their
 * ranges: each publish trims its stream and sets its expiry, so a publisher on other settings
 * than the gateways' would cut history they promise to keep (1000 entries by default).
 */
function historySettings(): { historyMaxLen?: number; historyTtlSeconds?: number; idempotencyTtlSeconds?: number } {
  const setting = (name: string, min: number, max: number) => {
    // As the gateway reads them: trimmed, and blank counts as unset.
    const text = process.env[name]?.trim()
    return text === undefined || text === '' ? undefined : wholeNumber(name, text, min, max)
  }
  const ranges = HISTORY_SETTING_RANGES
  const settings = {
    historyMaxLen: setting('HISTORY_MAX_LEN', ranges.historyMaxLen.min, ranges.historyMaxLen.max),
    historyTtlSeconds: setting('HISTORY_TTL_SECONDS', ranges.historyTtlSeconds.min, ranges.historyTtlSeconds.max),
    idempotencyTtlSeconds: setting(
      'IDEMPOTENCY_TTL_SECONDS',
      ranges.idempotencyTtlSeconds.min,
      ranges.idempotencyTtlSeconds.max,
    ),
  }
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined))
}

/** As the gateway reads a whole number: any digits (zero-padded too), then its range. */
function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}`)
  return value
}

async function loadFunctions(redisUrl: string): Promise<number> {
  const client = createRedisClient(redisTargetOf(redisUrl), { maxRetriesPerRequest: 1 })
  try {
    // A cluster client knows its masters once it is ready.
    await connect(client)
    const versions = await answeredInTime(loadHeraldFunctions(client))
    const newer = Math.max(...versions)
    process.stdout.write(
      newer > FUNCTION_LIBRARY_VERSION
        ? `herald functions v${newer} already loaded, newer than this CLI's v${FUNCTION_LIBRARY_VERSION}: left as it is\n`
        : `herald functions v${FUNCTION_LIBRARY_VERSION} loaded\n`,
    )
    return 0
  } finally {
    client.disconnect()
  }
}

function redisTargetOf(redisUrl: string, source = '--redis'): RedisTarget {
  const parsed = parseRedisTarget(redisUrl)
  if (typeof parsed === 'string') throw new UsageError(`${source} ${parsed}`)
  return parsed
}

async function tail(redisUrl: string, target: Target, history: number): Promise<number> {
  // The names a publish takes: any other is a channel no publish can reach, tailed for ever.
  const channelKey = channelKeyOf(target)
  const parsed = redisTargetOf(redisUrl)
  const stream = streamKey(channelKey)
  const subscriber = createRedisClient(parsed)
  await connect(subscriber)
  // Reads on a connection of their own: a subscribed RESP2 connection takes no other command.
  const reader = createRedisClient(parsed)
  await connect(reader)
  // Subscribed before the tail is read: an entry after it wakes the follower at once.
  await answeredInTime(subscriber.ssubscribe(pubsubChannel(channelKey)))
  const readTail = async () =>
    String(await answeredInTime(callHeraldFunction(reader, true, 'herald_tail', [stream], [])))
  const start = await readTail()
  if (history > 0) {
    const entries = await answeredInTime(reader.xrevrange(stream, start, '-', 'COUNT', history))
    for (const [id, fields] of entries.reverse()) print(id, fieldOf(fields, 't'), fieldOf(fields, 'd'))
  }
  const ttlSeconds = historySettings().historyTtlSeconds ?? DEFAULT_HISTORY_TTL_SECONDS
  const follower = new StreamFollower(start, {
    read: (after) =>
      answeredInTime(
        callHeraldFunction(reader, true, 'herald_read', [stream], [after, READ_COUNT, ttlSeconds, READ_MAX_BYTES]),
      ),
    tail: readTail,
    range: async (after) => {
      const entries = await answeredInTime(reader.xrange(stream, `(${after}`, '+', 'COUNT', READ_COUNT))
      return ['entries', ...entries.flatMap(([id, fields]) => [id, fieldOf(fields, 't'), fieldOf(fields, 'd')])]
    },
    print,
    warn: (line) => process.stderr.write(`herald: ${line}\n`),
  })
  subscriber.on('smessage', () => void follower.wake())
  // What no announcement woke it for (lost while the subscriber reconnected) is read within a second.
  const poll = setInterval(() => void follower.wake(), FOLLOW_POLL_MS)
  await follower.wake()
  await new Promise<void>((resolve) => process.once('SIGINT', resolve))
  clearInterval(poll)
  // What came before the Ctrl-C, unless Redis does not answer: a wedged Redis must not hold it.
  await follower.wake().catch(() => {})
  // Only read from: nothing to wait for Redis to confirm (a QUIT to a stopped Redis waits for ever).
  reader.disconnect()
  subscriber.disconnect()
  return 0
}

function print(id: string, type: string, data: string): void {
  process.stdout.write(`${entryLine(id, type, data)}\n`)
}

/**
 * Waits for the client to connect. One that cannot is a one-line failure (exit 1): ioredis
 * would otherwise retry for ever, printing "Unhandled error event" each time.
 */
async function connect(client: RedisClient): Promise<void> {
  client.on('error', () => {})
  try {
    // A server that takes the connection but never answers would never make it ready.
    await answeredInTime(whenConnected(client, 1))
  } catch (error) {
    client.disconnect()
    throw new Error(`cannot connect to Redis: ${redisErrorMessage(error)}`)
  }
}

/** The command's answer, or a failure once Redis has not answered for --timeout ms. */
async function answeredInTime<T>(command: Promise<T>): Promise<T> {
  const answered = await settledWithin(
    command.then((value) => ({ value })),
    answerTimeoutMs,
  )
  if (answered === undefined) throw new Error(`Redis did not answer within ${answerTimeoutMs} ms`)
  return answered.value
}

function fieldOf(fields: string[], name: string): string {
  const index = fields.indexOf(name)
  return index >= 0 && index % 2 === 0 ? (fields[index + 1] ?? '') : ''
}

function targetOf(user: string | undefined, topic: string | undefined): Target {
  if ((user === undefined) === (topic === undefined)) throw new UsageError('give exactly one of --user and --topic')
  return user !== undefined ? { user } : { topic: topic! }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof PublishError && CALLER_ERRORS.has(error.code))) {
      process.stderr.write(`herald: ${error.message}\n\n${HELP}`)
      process.exit(2)
    }
    process.stderr.write(`herald: ${messageOf(error)}\n`)
    process.exit(1)
  },
)

/**
 * An entry as one JSON line, its data as stored (compact): JSON.parse then JSON.stringify would
 * round 12345678901234567890. Data that is not JSON (stored by a raw client before the functions
 * refused it) goes as a string, in `invalidData`, rather than stop the tail.
 */
function entryLine(id: string, type: string, data: string): string {
  const head = `{"id":${JSON.stringify(id)},"type":${type === '' ? 'null' : JSON.stringify(type)}`
  try {
    JSON.parse(data)
  } catch {
    return `${head},"data":null,"invalidData":${JSON.stringify(data)}}`
  }
  return `${head},"data":${compactJson(data)}}`
}
