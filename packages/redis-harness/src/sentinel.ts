/**
 * A master, one replica and three sentinels, for tests of sentinel-aware clients and of what
 * happens across a failover. Timings are shortened (1 s down-after, 5 s failover timeout) so
 * failovers finish within a test. Sentinels rewrite their sentinel.conf, so each gets a writable
 * one in its own temp dir.
 */
import { join } from 'node:path'
import { LOOPBACK, parseEntries, parseInfo } from './cli.js'
import { pollUntil } from './poll.js'
import { dataNodeArgs, launchServer, type RedisServer, type ServerLayout, stopAll } from './redis-server.js'
import { untilSubscribedClients } from './subscribed-clients.js'

const MASTER_NAME = 'herald-master'
const SENTINEL_COUNT = 3
const QUORUM = 2
const DISCOVERY_TIMEOUT_MS = 30_000
const FAILOVER_TIMEOUT_MS = 30_000

export interface Address {
  readonly host: string
  readonly port: number
}

export interface RedisSentinelSetup {
  /** `'herald-master'` */
  readonly masterName: string
  /** The sentinel processes; each is a full RedisServer so a test can also kill or restart one. */
  readonly sentinels: readonly RedisServer[]
  /** The current master as reported by the sentinels (`SENTINEL get-master-addr-by-name`). */
  currentMaster(): Promise<Address>
  /** `redis+sentinel://h:p,h:p,h:p/<master name>`, the URL form Herald's REDIS_URL takes. */
  readonly url: string
  /** `[initial master, replica]` */
  readonly servers: readonly RedisServer[]
  /**
   * Force a failover: `SENTINEL FAILOVER <name>` on one sentinel, then resolve once all running
   * sentinels report the former replica as master AND that server reports role:master AND the old
   * master, if it is running, reports role:slave. Bounded by a 30 s timeout.
   */
  failover(): Promise<Address>
  /**
   * A failover announced while every Sentinel client's reconnect waits in its master lookup: the
   * first sentinel (the one a reconnect asks first) is stopped with SIGSTOP, the master killed,
   * and this resolves once the others name the replica master and no client is subscribed to
   * them any more (a client's failover detector lets go of the sentinels when it hears the
   * switch). The first sentinel stays stopped until `resume()`, or stop().
   */
  failOverDuringLookups(): Promise<{ resume(): void }>
  /** Stop the sentinels, then the servers, and remove their dirs. Idempotent. */
  stop(): Promise<void>
}

/**
 * Start a master, a replica (`--replicaof`) and 3 sentinels (quorum 2). Resolves once the replica
 * is in sync and every sentinel knows the master, the replica and the other two sentinels.
 */
export async function startRedisSentinel(): Promise<RedisSentinelSetup> {
  const servers: RedisServer[] = []
  const sentinels: RedisServer[] = []
  let resumeLookups = (): void => {}
  const stopEverything = async (): Promise<void> => {
    resumeLookups()
    // Sentinels go first so they do not fail over a master that is merely being shut down.
    await stopAll(sentinels)
    await stopAll(servers)
  }
  try {
    const master = await launchServer({ kind: 'sentinel-master', argv: dataNodeArgs })
    servers.push(master)
    const replica = await launchServer({
      kind: 'sentinel-replica',
      argv: (layout) => [...dataNodeArgs(layout), '--replicaof', LOOPBACK, String(master.port)],
    })
    servers.push(replica)
    // Sentinels learn about replicas from the master's INFO, so the replica must be attached first.
    await waitForReplicaOnline(master, replica)

    const started = await Promise.allSettled(
      Array.from({ length: SENTINEL_COUNT }, () => startSentinelProcess(master.port)),
    )
    for (const result of started) if (result.status === 'fulfilled') sentinels.push(result.value)
    const failure = started.find((result) => result.status === 'rejected')
    if (failure) throw failure.reason
    await Promise.all(sentinels.map((sentinel) => waitForDiscovery(sentinel, master, replica)))
  } catch (error) {
    await stopEverything()
    throw error
  }

  const running = (): RedisServer[] => sentinels.filter((sentinel) => sentinel.pid !== undefined)

  const currentMaster = async (): Promise<Address> => {
    const problems: string[] = []
    // Any one live sentinel's answer will do; a test may have killed some of them.
    for (const sentinel of running()) {
      try {
        return await masterAddress(sentinel)
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error))
      }
    }
    throw new Error(`no sentinel reported the master of ${MASTER_NAME}: ${problems.join('; ') || 'none running'}`)
  }

  const failover = async (): Promise<Address> => {
    const before = await currentMaster()
    const demoted = servers.find((server) => server.port === before.port)
    const promoted = servers.find((server) => server.port !== before.port)
    if (!promoted) throw new Error(`no replica to fail over to from ${before.host}:${before.port}`)

    // Refused while the replica is not yet eligible (NOGOODSLAVE) or a failover is running (INPROG).
    await pollUntil(
      `SENTINEL FAILOVER ${MASTER_NAME} to be accepted`,
      async () => {
        const sentinel = running()[0]
        if (!sentinel) throw new Error('no sentinel is running')
        const reply = await sentinel.cli('SENTINEL', 'FAILOVER', MASTER_NAME)
        if (reply !== 'OK') throw new Error(reply)
        return true
      },
      { timeoutMs: FAILOVER_TIMEOUT_MS },
    )

    return pollUntil(
      `failover of ${MASTER_NAME} to ${LOOPBACK}:${promoted.port}`,
      async () => {
        for (const sentinel of running()) {
          const reported = await masterAddress(sentinel)
          if (reported.port !== promoted.port) throw new Error(`sentinel :${sentinel.port} reports :${reported.port}`)
        }
        const promotedRole = await role(promoted)
        if (promotedRole !== 'master') throw new Error(`:${promoted.port} is still ${promotedRole}`)
        // Sentinels demote the old master only after it has kept claiming to be master for a while (~8 s).
        if (demoted?.pid !== undefined) {
          const demotedRole = await role(demoted)
          if (demotedRole !== 'slave') throw new Error(`old master :${demoted.port} is still ${demotedRole}`)
        }
        return { host: LOOPBACK, port: promoted.port }
      },
      { timeoutMs: FAILOVER_TIMEOUT_MS },
    )
  }

  const failOverDuringLookups = async (): Promise<{ resume(): void }> => {
    const [lookup, ...others] = sentinels
    const [master, replica] = servers
    if (lookup?.pid === undefined || master === undefined || replica === undefined)
      throw new Error('failOverDuringLookups needs the first sentinel, the master and the replica running')
    const pid = lookup.pid
    process.kill(pid, 'SIGSTOP')
    resumeLookups = () => {
      resumeLookups = () => {}
      process.kill(pid, 'SIGCONT')
    }
    await master.kill()
    for (const sentinel of others) {
      await pollUntil(
        `sentinel :${sentinel.port} to name :${replica.port} master`,
        async () => ((await masterAddress(sentinel)).port === replica.port ? true : undefined),
        { timeoutMs: FAILOVER_TIMEOUT_MS },
      )
      await untilSubscribedClients(sentinel, (count) => count === 0, 'every failover detector to let go')
    }
    return { resume: () => resumeLookups() }
  }

  let stopping: Promise<void> | undefined
  return {
    masterName: MASTER_NAME,
    sentinels,
    url: `redis+sentinel://${sentinels.map((sentinel) => `${sentinel.host}:${sentinel.port}`).join(',')}/${MASTER_NAME}`,
    servers,
    currentMaster,
    failover,
    failOverDuringLookups,
    stop: () => {
      stopping ??= stopEverything()
      return stopping
    },
  }
}

function sentinelConf(layout: ServerLayout, masterPort: number): string {
  return `${[
    `port ${layout.port}`,
    `bind ${LOOPBACK}`,
    'protected-mode no',
    'daemonize no',
    `dir ${layout.dir}`,
    'sentinel resolve-hostnames no',
    `sentinel monitor ${MASTER_NAME} ${LOOPBACK} ${masterPort} ${QUORUM}`,
    `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
    `sentinel failover-timeout ${MASTER_NAME} 5000`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ].join('\n')}\n`
}

function startSentinelProcess(masterPort: number): Promise<RedisServer> {
  return launchServer({
    kind: 'sentinel',
    argv: (layout) => [join(layout.dir, 'sentinel.conf'), '--sentinel'],
    files: (layout) => ({ 'sentinel.conf': sentinelConf(layout, masterPort) }),
    // Logged once the sentinel has loaded its config and started monitoring.
    ready: /\+monitor master /,
  })
}

async function role(server: RedisServer): Promise<string | undefined> {
  return parseInfo(await server.cli('INFO', 'replication')).get('role')
}

async function masterAddress(sentinel: RedisServer): Promise<Address> {
  const [host, port] = (await sentinel.cli('SENTINEL', 'get-master-addr-by-name', MASTER_NAME)).split('\n')
  const parsed = Number(port)
  if (!host || !Number.isInteger(parsed)) throw new Error(`sentinel :${sentinel.port} does not know ${MASTER_NAME}`)
  return { host: host.trim(), port: parsed }
}

async function waitForReplicaOnline(master: RedisServer, replica: RedisServer): Promise<void> {
  await pollUntil(`replica :${replica.port} to be online at master :${master.port}`, async () => {
    const info = parseInfo(await master.cli('INFO', 'replication'))
    for (const [key, value] of info) {
      if (key.startsWith('slave') && value.includes(`port=${replica.port},`) && value.includes('state=online')) {
        return true
      }
    }
    return undefined
  })
}

/** Sentinels find each other through hello messages every 2 s, so this takes a few seconds. */
async function waitForDiscovery(sentinel: RedisServer, master: RedisServer, replica: RedisServer): Promise<void> {
  await pollUntil(
    `sentinel :${sentinel.port} to know the master, the replica and ${SENTINEL_COUNT - 1} other sentinels`,
    async () => {
      const reported = await masterAddress(sentinel)
      if (reported.port !== master.port) throw new Error(`reports master :${reported.port}`)
      const replicas = parseEntries(await sentinel.cli('SENTINEL', 'replicas', MASTER_NAME))
      const known = replicas.find((entry) => entry.get('port') === String(replica.port))
      if (!known || /disconnected|s_down/.test(known.get('flags') ?? '')) {
        throw new Error(`replica :${replica.port} not known yet (flags ${known?.get('flags')})`)
      }
      const others = parseEntries(await sentinel.cli('SENTINEL', 'sentinels', MASTER_NAME))
      if (others.length < SENTINEL_COUNT - 1) throw new Error(`knows ${others.length} other sentinels`)
      return true
    },
    { timeoutMs: DISCOVERY_TIMEOUT_MS },
  )
}
