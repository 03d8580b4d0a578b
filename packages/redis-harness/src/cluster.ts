/**
 * A real Redis Cluster of masters only, for tests of cluster-aware clients (MOVED redirections,
 * keys hashing to different slots). Each node gets an explicit `--cluster-port`, because the default
 * bus port (port + 10000) may be taken or, for high ephemeral ports, beyond 65535.
 */
import { execFile } from 'node:child_process'
import { LOOPBACK, parseInfo } from './cli.js'
import { pollUntil } from './poll.js'
import { dataNodeArgs, launchServer, type RedisServer, stopAll } from './redis-server.js'

const CLUSTER_SLOTS = 16384
const CREATE_TIMEOUT_MS = 30_000

export interface StartRedisClusterOptions {
  /** Number of masters; Redis Cluster needs at least 3 (default 3). */
  readonly masters?: number
}

export interface RedisCluster {
  /** `host:port` of each master, e.g. for ioredis Cluster startup nodes. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>
  readonly masters: readonly RedisServer[]
  /** `redis+cluster://h:p,h:p,h:p`, the URL form Herald's REDIS_URL takes. */
  readonly url: string
  /** Stop every node and remove their dirs. Idempotent. */
  stop(): Promise<void>
}

/**
 * Masters (no replicas) created with `redis-cli --cluster create`; resolves when `CLUSTER INFO`
 * reports cluster_state:ok, all 16384 slots assigned and every node known, on every node.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const count = options.masters ?? 3
  if (!Number.isInteger(count) || count < 3)
    throw new RangeError(`a Redis Cluster needs at least 3 masters, got ${count}`)

  const started = await Promise.allSettled(Array.from({ length: count }, startClusterNode))
  const masters = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  try {
    const failure = started.find((result) => result.status === 'rejected')
    if (failure) throw failure.reason
    await createCluster(masters)
    await Promise.all(masters.map((node) => waitForClusterOk(node, count)))
  } catch (error) {
    await stopAll(masters)
    throw error
  }

  let stopping: Promise<void> | undefined
  return {
    nodes: masters.map((node) => ({ host: node.host, port: node.port })),
    masters,
    url: `redis+cluster://${masters.map((node) => `${node.host}:${node.port}`).join(',')}`,
    stop: () => {
      stopping ??= stopAll(masters)
      return stopping
    },
  }
}

function startClusterNode(): Promise<RedisServer> {
  return launchServer({
    kind: 'cluster-node',
    extraPorts: 1,
    argv: (layout) => [
      ...dataNodeArgs(layout),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '2000',
      '--cluster-port',
      String(layout.extraPorts[0]),
    ],
  })
}

/** `redis-cli --cluster create` assigns the slots and joins the nodes; it exits non-zero on failure. */
function createCluster(masters: readonly RedisServer[]): Promise<void> {
  const args = [
    '--cluster',
    'create',
    ...masters.map((node) => `${LOOPBACK}:${node.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: CREATE_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`redis-cli ${args.join(' ')} failed: ${`${stderr}${stdout}`.trim() || error.message}`))
      else resolve()
    })
  })
}

/** Gossip spreads the new slot map node by node, so each node must be asked. */
async function waitForClusterOk(node: RedisServer, knownNodes: number): Promise<void> {
  await pollUntil(`cluster_state:ok on ${node.host}:${node.port}`, async () => {
    const info = parseInfo(await node.cli('CLUSTER', 'INFO'))
    const ok =
      info.get('cluster_state') === 'ok' &&
      info.get('cluster_slots_assigned') === String(CLUSTER_SLOTS) &&
      info.get('cluster_known_nodes') === String(knownNodes)
    return ok ? true : undefined
  })
}
