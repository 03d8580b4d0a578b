/**
 * A real Redis Cluster for tests of cluster-aware clients (MOVED redirections, keys hashing to
 * different slots) and, with replicas, of master failover. Each node gets an explicit
 * `--cluster-port`, because the default bus port (port + 10000) may be taken or, for high
 * ephemeral ports, beyond 65535.
 */
import { execFile } from 'node:child_process'
import { LOOPBACK, parseInfo } from './cli.js'
import { pollUntil } from './poll.js'
import { dataNodeArgs, launchServer, type RedisServer, stopAll } from './redis-server.js'

const CLUSTER_SLOTS = 16384
const CREATE_TIMEOUT_MS = 30_000
const FAILOVER_TIMEOUT_MS = 30_000

export interface StartRedisClusterOptions {
  /** Number of masters; Redis Cluster needs at least 3 (default 3). */
  readonly masters?: number
  /** Replicas of each master (default 0). */
  readonly replicasPerMaster?: number
  /**
   * How long a node may go unheard before the others count it failed and promote one of its
   * replicas (`cluster-node-timeout`). Default 15000: a test machine that stalls for a few
   * seconds (other work on both cores) failed masters over behind tests' backs with 2000. A
   * test that kills or stops masters to fail them over sets it short, 2000 say.
   */
  readonly nodeTimeoutMs?: number
}

export interface RedisCluster {
  /** `host:port` of each initial master, e.g. for ioredis Cluster startup nodes. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>
  /** The initial masters; after a failover, see {@link RedisCluster.failover}. */
  readonly masters: readonly RedisServer[]
  /** The initial replicas. */
  readonly replicas: readonly RedisServer[]
  /** `redis+cluster://h:p,h:p,h:p`, the URL form Herald's REDIS_URL takes. */
  readonly url: string
  /**
   * Moves `master`'s slots to one of its replicas: `'takeover'` runs `CLUSTER FAILOVER` on the
   * replica (coordinated: the replica catches up first); `'kill'` SIGKILLs the master, so the
   * replica is elected once the master is judged failed (after `nodeTimeoutMs`: start such a
   * cluster with a short one). Resolves to the promoted server once it
   * is master and every running node reports cluster_state:ok (and, after a takeover, the old
   * master reports itself a replica). `'stop'` SIGSTOPs the master, as a frozen host or a link
   * that drops everything would leave it: its connections stay open and nothing answers on them.
   * It stays stopped (its clients still wait on it) until {@link RedisCluster.stop}, or a SIGCONT
   * of the caller's.
   */
  failover(master: RedisServer, how: 'takeover' | 'kill' | 'stop'): Promise<RedisServer>
  /**
   * Moves `slot` to master `to` the way `redis-cli --cluster reshard` does: `to` imports it, its
   * owner marks it migrating, the keys go over with `MIGRATE`, then every master is told the new
   * owner. While the slot is migrating (after its keys moved over), `whileMigrating` runs: a
   * command on a key of the slot then goes to `to` by an `ASK` redirection. Resolves once every
   * master names `to` as the slot's owner.
   */
  moveSlot(slot: number, to: RedisServer, whileMigrating?: () => Promise<unknown>): Promise<void>
  /** The running master that serves `slot`, by its own account. */
  slotOwner(slot: number): Promise<RedisServer>
  /** Stop every node and remove their dirs. Idempotent. */
  stop(): Promise<void>
}

/**
 * Nodes created with `redis-cli --cluster create`; resolves when `CLUSTER INFO` reports
 * cluster_state:ok, all 16384 slots assigned and every node known, on every node.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const count = options.masters ?? 3
  const replicasPerMaster = options.replicasPerMaster ?? 0
  if (!Number.isInteger(count) || count < 3)
    throw new RangeError(`a Redis Cluster needs at least 3 masters, got ${count}`)
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0)
    throw new RangeError(`replicasPerMaster must be a whole number, got ${replicasPerMaster}`)

  const nodeTimeoutMs = options.nodeTimeoutMs ?? 15_000
  if (!Number.isInteger(nodeTimeoutMs) || nodeTimeoutMs < 100)
    throw new RangeError(`nodeTimeoutMs must be a whole number of at least 100, got ${nodeTimeoutMs}`)

  const total = count * (1 + replicasPerMaster)
  const started = await Promise.allSettled(Array.from({ length: total }, () => startClusterNode(nodeTimeoutMs)))
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  let masters: RedisServer[] = []
  try {
    const failure = started.find((result) => result.status === 'rejected')
    if (failure) throw failure.reason
    await createCluster(servers, replicasPerMaster)
    await Promise.all(servers.map((node) => waitForClusterOk(node, total)))
    // redis-cli chooses which nodes become masters; ask the cluster, once gossip has told every node.
    masters = await pollUntil(`${count} masters and their replicas known on every node`, async () => {
      const views = await Promise.all(servers.map(async (server) => clusterRoles(server)))
      const mastersSeen = views.map((roles) => servers.filter((s) => roles.get(s.port)?.master === undefined))
      return mastersSeen.every((seen) => seen.length === count) ? mastersSeen[0] : undefined
    })
  } catch (error) {
    await stopAll(servers)
    throw error
  }
  const replicas = servers.filter((server) => !masters.includes(server))

  /** Servers a 'stop' failover left stopped: they answer nothing, and are woken to be stopped. */
  const stopped = new Set<RedisServer>()
  const running = () => servers.filter((server) => server.pid !== undefined && !stopped.has(server))

  const failover = async (master: RedisServer, how: 'takeover' | 'kill' | 'stop'): Promise<RedisServer> => {
    // A replica learns whom it follows from gossip, so after an earlier failover this may take a moment.
    const replicas = await pollUntil(`a running replica of :${master.port}`, async () => {
      const roles = await clusterRoles(master)
      const masterId = roles.get(master.port)?.id
      const found = running().filter((server) => masterId !== undefined && roles.get(server.port)?.master === masterId)
      return found.length > 0 ? found : undefined
    })
    if (how === 'kill') await master.kill()
    else if (how === 'stop') {
      stopped.add(master)
      process.kill(master.pid!, 'SIGSTOP')
    } else await replicas[0]!.cli('CLUSTER', 'FAILOVER')
    // A takeover promotes the replica asked; a failed master, whichever of its replicas wins the election.
    const candidates = how === 'takeover' ? replicas.slice(0, 1) : replicas
    return pollUntil(
      `a replica of :${master.port} to take over from it`,
      async () => {
        const roles = await Promise.all(candidates.map(role))
        const promoted = candidates[roles.indexOf('master')]
        if (promoted === undefined) return undefined
        if (how === 'takeover' && (await role(master)) !== 'slave') return undefined
        for (const node of running()) {
          if (parseInfo(await node.cli('CLUSTER', 'INFO')).get('cluster_state') !== 'ok') return undefined
        }
        return promoted
      },
      { timeoutMs: FAILOVER_TIMEOUT_MS },
    )
  }

  const slotOwner = async (slot: number) => {
    const candidates = running()
    const owners = await Promise.all(candidates.map(async (server) => (await ownedSlots(server)).has(slot)))
    const owner = candidates.find((_, i) => owners[i])
    if (owner === undefined) throw new Error(`no running master owns slot ${slot}`)
    return owner
  }

  const moveSlot = async (slot: number, to: RedisServer, whileMigrating?: () => Promise<unknown>) => {
    const from = await slotOwner(slot)
    if (from === to) return
    const [fromId, toId] = await Promise.all([from.cli('CLUSTER', 'MYID'), to.cli('CLUSTER', 'MYID')])
    await expectOk(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId)
    await expectOk(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId)
    const migrateKeys = async () => {
      for (;;) {
        const keys = (await from.cli('CLUSTER', 'GETKEYSINSLOT', String(slot), '1000')).split('\n').filter(Boolean)
        if (keys.length === 0) return
        // NOKEY: the keys expired meanwhile.
        const reply = await from.cli('MIGRATE', to.host, String(to.port), '', '0', '5000', 'KEYS', ...keys)
        if (reply !== 'OK' && reply !== 'NOKEY') throw new Error(`MIGRATE to :${to.port}: ${reply}`)
      }
    }
    await migrateKeys()
    await whileMigrating?.()
    await migrateKeys()
    // The new owner first, as redis-cli does, so the slot is never left without one. Replicas
    // learn it by gossip (they refuse SETSLOT).
    const others = running().filter((server) => server !== to && server !== from)
    for (const server of [to, from]) await expectOk(server, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId)
    for (const server of others) {
      if ((await role(server)) === 'master') await expectOk(server, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId)
    }
    await pollUntil(`every node to name :${to.port} the owner of slot ${slot}`, async () => {
      for (const server of running()) if ((await slotOwnerPort(server, slot)) !== to.port) return undefined
      return true
    })
  }

  let stopping: Promise<void> | undefined
  return {
    nodes: masters.map((node) => ({ host: node.host, port: node.port })),
    masters,
    replicas,
    url: `redis+cluster://${masters.map((node) => `${node.host}:${node.port}`).join(',')}`,
    failover,
    moveSlot,
    slotOwner,
    stop: () => {
      // A stopped process would not act on the SIGTERM that stops it for good.
      for (const server of stopped) if (server.pid !== undefined) process.kill(server.pid, 'SIGCONT')
      stopping ??= stopAll(servers)
      return stopping
    },
  }
}

function startClusterNode(nodeTimeoutMs: number): Promise<RedisServer> {
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
      String(nodeTimeoutMs),
      '--cluster-port',
      String(layout.extraPorts[0]),
    ],
  })
}

/** `redis-cli --cluster create` assigns the slots and joins the nodes; it exits non-zero on failure. */
function createCluster(servers: readonly RedisServer[], replicasPerMaster: number): Promise<void> {
  const args = [
    '--cluster',
    'create',
    ...servers.map((node) => `${LOOPBACK}:${node.port}`),
    '--cluster-replicas',
    String(replicasPerMaster),
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

/** Each node's id and, for a replica, its master's id, by port, as `CLUSTER NODES` on `node` reports them. */
async function clusterRoles(node: RedisServer): Promise<Map<number, { id: string; master: string | undefined }>> {
  const roles = new Map<number, { id: string; master: string | undefined }>()
  for (const line of (await node.cli('CLUSTER', 'NODES')).split('\n')) {
    // <id> <ip:port@cport> <flags> <master id or -> ...
    const [id, address, , master] = line.trim().split(' ')
    const port = Number(/:(\d+)@/.exec(address ?? '')?.[1])
    if (id !== undefined && Number.isInteger(port)) roles.set(port, { id, master: master === '-' ? undefined : master })
  }
  return roles
}

/** Runs a command that answers OK; redis-cli exits 0 on an error reply, so the reply is checked. */
async function expectOk(server: RedisServer, ...args: string[]): Promise<void> {
  const reply = await server.cli(...args)
  if (reply !== 'OK') throw new Error(`${args.join(' ')} on :${server.port}: ${reply}`)
}

/** The slots `node` itself serves, from the `myself` line of its `CLUSTER NODES`. */
export async function ownedSlots(node: RedisServer): Promise<Set<number>> {
  const myself = (await node.cli('CLUSTER', 'NODES')).split('\n').find((line) => line.includes('myself'))
  const slots = new Set<number>()
  // <id> <address> <flags> <master> <ping> <pong> <epoch> <link> <slot or range>... ([slot->-id] while migrating)
  for (const range of myself?.trim().split(' ').slice(8) ?? []) {
    if (range.startsWith('[')) continue
    const [start, end = start] = range.split('-').map(Number)
    for (let slot = start!; slot <= end!; slot++) slots.add(slot)
  }
  return slots
}

/** The port of the master `node` believes serves `slot`, from its `CLUSTER SLOTS`. */
async function slotOwnerPort(node: RedisServer, slot: number): Promise<number | undefined> {
  // redis-cli prints each range as start, end, then host, port, id per node, a line each.
  const lines = (await node.cli('CLUSTER', 'SLOTS')).split('\n')
  for (let i = 0; i + 4 < lines.length; i++) {
    const start = Number(lines[i])
    const end = Number(lines[i + 1])
    if (Number.isInteger(start) && Number.isInteger(end) && start <= slot && slot <= end && lines[i + 2] === LOOPBACK)
      return Number(lines[i + 3])
  }
  return undefined
}

async function role(server: RedisServer): Promise<string | undefined> {
  return parseInfo(await server.cli('INFO', 'replication')).get('role')
}
