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
import {
  callHeraldFunction,
  createRedisClient,
  HeraldPublisher,
  loadHeraldFunctions,
  PUBLISHING_CLIENT_OPTIONS,
  type RedisClient,
  streamKey,
} from '@herald/publisher'
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
  run(client: RedisClient, publisher: HeraldPublisher): Promise<void>
}

const DATA = JSON.stringify({ title: 'New comment on your post', at: 1_733_220_000_000 })

function phases({ calls, messagesPerCall, users }: FunctionInstructionsParams): Phase[] {
  const user = (n: number) => `user-${n % users}`
  // Each user's first id: reading after it returns a full page, from a position history still holds.
  const firstIds = new Map<string, string>()
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
    {
      call: `herald_read, ${messagesPerCall} entries a call`,
      command: 'fcallroCommand',
      messagesPerCall,
      async run(client) {
        for (let c = 0; c < calls; c++) {
          const reply = (await callHeraldFunction(
            client,
            true,
            'herald_read',
            [streamKey(`u:${user(c)}`)],
            [firstIds.get(user(c))!, messagesPerCall],
          )) as string[]
          // A short page would make the count a message cheaper than it is.
          if (reply.length !== 1 + 3 * messagesPerCall)
            throw new Error(`herald_read returned ${reply[0]} with ${(reply.length - 1) / 3} entries`)
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
      await run('callgrind_control', ['--zero', pid])
      await phase.run(client, publisher)
      const file = await dump(pid, `phase-${index}`, dir)
      const instructions = await inclusiveInstructions(file, phase.command)
      rows.push({
        call: phase.call,
        calls: params.calls,
        messages: params.calls * phase.messagesPerCall,
        instructionsPerCall: Math.round(instructions / params.calls),
        instructionsPerMessage: Math.round(instructions / (params.calls * phase.messagesPerCall)),
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
