/**
 * What Herald's Redis functions cost Redis, in instructions. redis-server runs under
 * `valgrind --tool=callgrind`, which counts the instructions executed instead of timing them,
 * so the figures repeat within about 0.3 % for the same Redis binary, library and calls (Redis's
 * own timers run in between), however busy the machine is: a change to the Lua library can be
 * judged by one run of each version, where CPU time on this shared host needs many alternating
 * rounds. Redis runs under valgrind through the harness's `wrapper`. Each way of calling runs in a phase
 * of its own, and `callgrind_control --dump` closes a phase (a dump also zeroes the counters).
 * A diagnostic: it prints, and writes no result file.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { HeraldPublisher, loadHeraldFunctions, PUBLISHING_CLIENT_OPTIONS, type RedisClient } from '@herald/publisher'
import { callHeraldFunction, createRedisClient, streamKey } from '@herald/publisher/internal'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { markdownTable } from '../report/markdown-table.js'

const run = promisify(execFile)

export interface FunctionInstructionsParams {
  /** Calls made in each phase. */
  readonly calls: number
  /** Messages in each `herald_publish_batch` call, and entries each `herald_read` returns. */
  readonly messagesPerCall: number
  /** Users the messages go to, round-robin. */
  readonly users: number
}

export interface FunctionInstructionsRow {
  readonly call: string
  readonly calls: number
  /** Messages published, or entries read. */
  readonly messages: number
  readonly instructionsPerCall: number
  readonly instructionsPerMessage: number
}

interface Phase {
  readonly call: string
  /** The Redis command whose inclusive count is the phase's cost. */
  readonly command: 'fcallCommand' | 'fcallroCommand'
  readonly messagesPerCall: number
  /** Calls made, if not the run's: under valgrind a call that copies 12 MB takes seconds. */
  readonly calls?: number
  /** Writes what the phase reads, before counting starts. */
  setUp?(client: RedisClient): Promise<void>
  run(client: RedisClient, publisher: HeraldPublisher): Promise<void>
}

const DATA = JSON.stringify({ title: 'New comment on your post', at: 1_733_220_000_000 })
/** A gateway's page bound (hub/resume.ts), and entries near the largest a replay meets. */
const PAGE_BYTES = 65_536
const LARGE_DATA = JSON.stringify('x'.repeat(60_000))
const LARGE_ENTRIES = 250
const LARGE_CALLS = 20

function phases({ calls, messagesPerCall, users }: FunctionInstructionsParams): Phase[] {
  const user = (n: number) => `user-${n % users}`
  // Each user's first id: reading after it returns a full page, from a position history still holds.
  const firstIds = new Map<string, string>()
  /** Full pages of `messagesPerCall` entries from each user's first id, `extra` after the count (ttl, max bytes). */
  const readPhase = (call: string, extra: readonly number[]): Phase => ({
    call,
    command: 'fcallroCommand',
    messagesPerCall,
    async run(client) {
      for (let c = 0; c < calls; c++) {
        const reply = (await callHeraldFunction(
          client,
          true,
          'herald_read',
          [streamKey(`u:${user(c)}`)],
          [firstIds.get(user(c))!, messagesPerCall, ...extra],
        )) as string[]
        // A short page would make the count a message cheaper than it is.
        if (reply.length !== 1 + 3 * messagesPerCall)
          throw new Error(`herald_read returned ${reply[0]} with ${(reply.length - 1) / 3} entries`)
      }
    },
  })
  return [
    {
      call: `herald_publish_batch, ${messagesPerCall} a call (@herald/publisher)`,
      command: 'fcallCommand',
      messagesPerCall,
      async run(_, publisher) {
        for (let c = 0; c < calls; c++) {
          const targets = Array.from({ length: messagesPerCall }, (_, i) => user(c * messagesPerCall + i))
          const ids = await publisher.publishBatch(
            targets.map((u) => ({ target: { user: u }, data: JSON.parse(DATA) })),
          )
          for (const [i, u] of targets.entries()) if (!firstIds.has(u)) firstIds.set(u, ids[i]!)
        }
      },
    },
    {
      call: 'herald_publish, one a call',
      command: 'fcallCommand',
      messagesPerCall: 1,
      async run(client) {
        for (let c = 0; c < calls; c++)
          await callHeraldFunction(client, false, 'herald_publish', [streamKey(`u:${user(c)}`)], ['', DATA])
      },
    },
    readPhase(`herald_read, ${messagesPerCall} entries a call`, []),
    readPhase(`herald_read, ${messagesPerCall} entries a call in ${PAGE_BYTES}-byte pages (as gateways read)`, [
      604_800,
      PAGE_BYTES,
    ]),
    {
      call: `herald_read, 200 a call in ${PAGE_BYTES}-byte pages of 60 KB entries (a page of 1)`,
      command: 'fcallroCommand',
      messagesPerCall: 1,
      calls: LARGE_CALLS,
      async setUp(client) {
        for (let n = 0; n < LARGE_ENTRIES; n++)
          await callHeraldFunction(client, false, 'herald_publish', [streamKey('u:large')], ['', LARGE_DATA])
      },
      async run(client) {
        const first = (await client.call('XRANGE', streamKey('u:large'), '-', '+', 'COUNT', 1)) as [string, unknown][]
        let after = first[0]![0]
        for (let c = 0; c < LARGE_CALLS; c++) {
          const reply = (await callHeraldFunction(
            client,
            true,
            'herald_read',
            [streamKey('u:large')],
            [after, 200, 604_800, PAGE_BYTES],
          )) as string[]
          if (reply[0] !== 'more' || reply.length !== 4)
            throw new Error(`herald_read returned ${reply[0]} with ${(reply.length - 1) / 3} entries`)
          // Pages through the history and starts over, as resuming clients do.
          after = c % (LARGE_ENTRIES - 201) === LARGE_ENTRIES - 202 ? first[0]![0] : reply[1]!
        }
      },
    },
  ]
}

export async function runFunctionInstructions(params: FunctionInstructionsParams): Promise<FunctionInstructionsRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-callgrind-'))
  let redis: RedisServer | undefined
  let client: RedisClient | undefined
  try {
    redis = await startRedis({
      wrapper: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${join(dir, 'callgrind.out')}`],
      // Under valgrind Redis starts about 50 times slower than usual.
      readyTimeoutMs: 60_000,
    })
    const pid = String(redis.pid)
    client = createRedisClient({ kind: 'standalone', url: redis.url }, PUBLISHING_CLIENT_OPTIONS)
    // Without an offline queue, nothing is sent before the connection is ready.
    const connecting = client
    await new Promise((resolve) => connecting.once('ready', resolve))
    const publisher = new HeraldPublisher({ redis: client })
    await loadHeraldFunctions(client)
    const rows: FunctionInstructionsRow[] = []
    for (const [index, phase] of phases(params).entries()) {
      await phase.setUp?.(client)
      await run('callgrind_control', ['--zero', pid])
      await phase.run(client, publisher)
      const file = await dump(pid, `phase-${index}`, dir)
      const instructions = await inclusiveInstructions(file, phase.command)
      const calls = phase.calls ?? params.calls
      rows.push({
        call: phase.call,
        calls,
        messages: calls * phase.messagesPerCall,
        instructionsPerCall: Math.round(instructions / calls),
        instructionsPerMessage: Math.round(instructions / (calls * phase.messagesPerCall)),
      })
    }
    return rows
  } finally {
    client?.disconnect()
    await redis?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Dumps callgrind's counters since the last zero; resolves to the file the dump wrote. */
async function dump(pid: string, name: string, dir: string): Promise<string> {
  const before = await readdir(dir)
  await run('callgrind_control', [`--dump=${name}`, pid])
  const written = (await readdir(dir)).filter((file) => file.startsWith('callgrind.out') && !before.includes(file))
  // The dump names its trigger in its header, and ends with its totals once complete.
  for (const file of written) {
    const text = await readFile(join(dir, file), 'utf8')
    if (text.includes(`\ndesc: Trigger: dump ${name}\n`) && /\ntotals: \d+/.test(text)) return join(dir, file)
  }
  throw new Error(`callgrind wrote no dump named ${name} in ${dir}`)
}

/** The instructions executed in `fn` and everything it called, as callgrind_annotate totals them. */
async function inclusiveInstructions(file: string, fn: string): Promise<number> {
  const { stdout } = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
    maxBuffer: 64 * 1024 * 1024,
  })
  const line = stdout.split('\n').find((l) => new RegExp(`:${fn} \\[`).test(l))
  if (line === undefined) throw new Error(`callgrind_annotate found no ${fn} in ${file}`)
  return Number(line.trim().split(/\s+/)[0]!.replaceAll(',', ''))
}

export function functionInstructionsTable(rows: readonly FunctionInstructionsRow[]): string {
  return markdownTable(
    ['call', 'calls', 'messages', 'instructions a call', 'instructions a message'],
    rows.map((r) => [r.call, r.calls, r.messages, r.instructionsPerCall, r.instructionsPerMessage]),
  )
}
