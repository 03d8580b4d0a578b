/**
 * Where Redis is, from one URL for the three topologies, and the ioredis
 * client for it. Shared by the SDK, the CLI and the gateway (REDIS_URL).
 *
 *   redis://[user:pass@]host[:port][/0]           standalone (also rediss:// for TLS; port 6379 if left out)
 *   redis+sentinel://[user:pass@]h1:p1,h2:p2/<master name>
 *   redis+cluster://[user:pass@]h1:p1,h2:p2       Redis Cluster (seed nodes)
 *
 * An IPv6 host is written in brackets in all three, [fd00::1]:7000.
 */

import { Cluster, Redis } from 'ioredis'
import type { RedisClient } from './functions.js'
import { rememberErrorNode } from './publish-error.js'
import { HeraldSentinelConnector } from './sentinel-connector.js'

export interface HostPort {
  readonly host: string
  readonly port: number
}

export type RedisTarget =
  | { readonly kind: 'standalone'; readonly url: string }
  | {
      readonly kind: 'sentinel'
      readonly sentinels: readonly HostPort[]
      readonly masterName: string
      readonly username?: string
      readonly password?: string
    }
  | {
      readonly kind: 'cluster'
      readonly nodes: readonly HostPort[]
      readonly username?: string
      readonly password?: string
    }

const MULTI_HOST = /^(redis\+sentinel|redis\+cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+?)(?:\/([^/?#]*))?$/

/** Parses REDIS_URL; returns a message on failure, never echoing the URL (it may hold a password). */
export function parseRedisTarget(text: string): RedisTarget | string {
  if (/^rediss?:\/\//.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      // Most often a password with an unescaped # (or @, /): the part after it reads as a fragment.
      return text.includes('#')
        ? 'is not a valid redis:// URL: write # in a password as %23'
        : 'is not a valid redis:// URL'
    }
    // ioredis would quietly connect to localhost:6379 instead.
    if (url.hostname === '') return 'needs a host, e.g. redis://redis.internal:6379'
    // ioredis ignores it; most often the rest of a password with an unescaped #.
    if (text.includes('#')) return 'has a #fragment, which means nothing here: write # in a password as %23'
    // As parseHostPort checks the Sentinel and Cluster forms: port 0 would be retried for ever.
    // URL has already refused one above 65535; no port at all means 6379, as redis:// URLs do.
    if (url.port !== '' && Number(url.port) === 0) return 'port must be 1-65535 (or left out for 6379)'
    // ioredis decodes these and would throw "URI malformed" from inside the connection.
    if (decodeComponent(url.username) === undefined || decodeComponent(url.password) === undefined) {
      return MALFORMED_ESCAPE
    }
    // ioredis reads the database from the path, else from the last ?db=: any other than 0 is refused.
    const databases = [...(url.pathname.length > 1 ? [url.pathname.slice(1)] : []), ...url.searchParams.getAll('db')]
    if (databases.some((db) => db !== '0')) return OTHER_DATABASE
    // ioredis reads every other query parameter as a client option (keyPrefix, password, tls...),
    // over Herald's own: a keyPrefix, say, moves every key the Redis functions check.
    const options = [...new Set(url.searchParams.keys())].filter((name) => name !== 'db')
    if (options.length > 0)
      return `takes no query parameters but ?db=0, got ${options.map((name) => JSON.stringify(name)).join(', ')}`
    return { kind: 'standalone', url: text }
  }
  const match = MULTI_HOST.exec(text)
  if (match === null) {
    return /^redis\+(sentinel|cluster):\/\//.test(text)
      ? MULTI_HOST_SHAPE
      : 'must start with redis://, rediss://, redis+sentinel:// or redis+cluster://'
  }
  const [, scheme, username, password, hostList, name] = match
  // `u:p@ss@h:6379` would read as host `ss@h`, `u:p/w@h:6379` as host `u` and master `w@h:6379`.
  if (hostList!.includes('@') || name?.includes('@')) return UNESCAPED_CREDENTIALS
  // A cluster has no databases but 0, and no master name; neither form takes a query (a
  // cluster's would otherwise read as part of its last host).
  if ((scheme === 'redis+cluster' && name) || /[?#]/.test(hostList!) || /[?#]/.test(name ?? '')) return MULTI_HOST_SHAPE
  const hosts = hostList!.split(',').map(parseHostPort)
  if (hosts.some((h) => h === undefined)) return 'hosts must be host:port or [IPv6]:port, comma-separated'
  const user = username ? decodeComponent(username) : ''
  const pass = password ? decodeComponent(password) : ''
  if (user === undefined || pass === undefined) return MALFORMED_ESCAPE
  const credentials = {
    ...(user ? { username: user } : {}),
    ...(pass ? { password: pass } : {}),
  }
  if (scheme === 'redis+sentinel') {
    if (!name)
      return 'redis+sentinel:// needs the master name as its path, e.g. redis+sentinel://h1:26379,h2:26379/mymaster'
    const masterName = decodeComponent(name)
    if (masterName === undefined) return MALFORMED_ESCAPE
    return { kind: 'sentinel', sentinels: hosts as HostPort[], masterName, ...credentials }
  }
  return { kind: 'cluster', nodes: hosts as HostPort[], ...credentials }
}

/** The target's password, if it has one: a secret the gateway's logs censor wherever it appears. */
export function redisPassword(target: RedisTarget): string | undefined {
  if (target.kind !== 'standalone') return target.password
  // Checked by parseRedisTarget: a URL whose password decodes.
  const password = decodeComponent(new URL(target.url).password)
  return password === '' ? undefined : password
}

/**
 * Streams live in the database selected, but Pub/Sub and sharded Pub/Sub ignore databases: two
 * deployments told apart only by database would each deliver the other's live notifications.
 */
const OTHER_DATABASE =
  'must use database 0 (no /<db> path or ?db=): Redis Pub/Sub is shared by all databases, so deployments ' +
  "on one Redis with different databases would receive each other's notifications; give each its own Redis"

const MULTI_HOST_SHAPE =
  'must be redis+sentinel://[user:pass@]h1:p1,h2:p2/<master name> or redis+cluster://[user:pass@]h1:p1,h2:p2, ' +
  'with no database or query (Herald uses database 0)'

const UNESCAPED_CREDENTIALS =
  'has an @ outside its user:password@ part: write @ and / in the user name or password as %40 and %2F'

/** Says where to look without quoting the part, which may be the password. */
const MALFORMED_ESCAPE = 'has a malformed %-escape in its user name, password or master name (write a literal % as %25)'

/** `decodeURIComponent`, or `undefined` where it would throw on a malformed escape like `%ZZ`. */
function decodeComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

function parseHostPort(text: string): HostPort | undefined {
  // An IPv6 address in brackets, as URLs write it: ioredis wants it bare.
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim())
  if (match === null) return undefined
  const port = Number(match[3])
  return port > 0 && port < 65_536 ? { host: (match[1] ?? match[2])!, port } : undefined
}

/** The few ioredis options Herald sets; a closed type keeps them in step with exactOptionalPropertyTypes. */
export interface ClientOptions {
  readonly enableOfflineQueue?: boolean
  readonly enableAutoPipelining?: boolean
  readonly maxRetriesPerRequest?: number
  /**
   * Off for every connection that publishes: ioredis resends the commands that were in flight
   * when a connection dropped, and a publish Redis ran before the drop would run twice.
   */
  readonly autoResendUnfulfilledCommands?: boolean
  readonly autoResubscribe?: boolean
  readonly connectionName?: string
  /**
   * Cluster only, on unless set false: a command that met a closed node connection is sent again
   * after a slots refresh (ioredis's retryDelayOnFailover, 100 ms), on whichever connection then
   * serves its slot, behind commands sent meanwhile. Off where their order matters: a resent
   * SUNSUBSCRIBE lands after a later SSUBSCRIBE of the same channel, and undoes it.
   */
  readonly retryOnClosedConnection?: boolean
}

/**
 * RESP2, not ioredis 6's default RESP3. Herald keeps Pub/Sub on a connection of its own, so RESP3's
 * push messages buy it nothing, and ioredis decodes a sharded message about 7 % faster in RESP2
 * (`pnpm --filter @herald/load-tests subscribe-cost`; load-tests/JOURNAL.md, "fourth session").
 */
const WIRE_PROTOCOL = 2

/**
 * How often a Cluster client reads the slots map by itself. ioredis 6 reads it only on a MOVED or
 * a lost connection, and a master that hangs (a stopped process, a frozen host, a link that drops
 * packets) gives neither: every command for its slots waits unanswered, long after its replica
 * has taken over, and a gateway's subscriptions there hear nothing until the old master wakes.
 */
const CLUSTER_SLOTS_REFRESH_MS = 5_000

/**
 * How long a standalone or Sentinel connection waits before its `attempt`th try to reconnect:
 * doubling from 50 ms up to 1 s, plus up to 200 ms of jitter. ioredis 6's own goes up to 5 s, so
 * a gateway whose Redis came back after a 25 s partition waited 3.3–4.5 s more before it
 * reconnected, most of the time its channels then took to catch up (a probe of 2026-12-07). A
 * Cluster retries at most 2 s apart by its own rule (clusterRetryStrategy).
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.min(50 * 2 ** Math.max(0, attempt - 1), 1000) + Math.floor(random() * 200)
}

/** A standalone, Sentinel or Cluster client for the target; Cluster clients use sharded subscribers. */
export function createRedisClient(target: RedisTarget, clientOptions: ClientOptions = {}): RedisClient {
  const { retryOnClosedConnection, ...connectionOptions } = clientOptions
  const options = { ...connectionOptions, protocol: WIRE_PROTOCOL } as const
  switch (target.kind) {
    case 'standalone':
      return new Redis(target.url, { retryStrategy: reconnectDelayMs, ...options })
    case 'sentinel':
      return new Redis({
        retryStrategy: reconnectDelayMs,
        ...options,
        sentinels: [...target.sentinels],
        name: target.masterName,
        // A closed client must not hold its process for 2 s after a failed Sentinel lookup.
        Connector: HeraldSentinelConnector,
        // Follow a failover at once instead of waiting for the old master to refuse writes.
        failoverDetector: true,
        reconnectOnError: (error) => error.message.startsWith('READONLY'),
        ...(target.username === undefined ? {} : { username: target.username, sentinelUsername: target.username }),
        ...(target.password === undefined ? {} : { password: target.password, sentinelPassword: target.password }),
      })
    case 'cluster':
      return rememberingErrorNodes(
        new Cluster([...target.nodes], {
          shardedSubscribers: true,
          slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
          // Never auto-pipelined: ioredis 6.0.0 then stops following MOVED after a second failover
          // and keeps sending a moved slot's commands to its old node (test/faults/cluster.test.ts).
          enableAutoPipelining: false,
          ...(options.autoResendUnfulfilledCommands === false
            ? {
                // A Cluster sends a command again retryDelayOnFailover after its node's connection
                // closed, whatever the nodes' autoResendUnfulfilledCommands says: Redis may have run
                // it. A client that must not resend fails it at once instead...
                retryDelayOnFailover: 0,
                // ...which would also fail, with the same error, a command for a node whose
                // connection is still being made, unless the Cluster queues it (a publisher waits
                // for the Cluster to be ready before it sends anything).
                enableOfflineQueue: true,
              }
            : { enableOfflineQueue: options.enableOfflineQueue ?? true }),
          ...(retryOnClosedConnection === false ? { retryDelayOnFailover: 0 } : {}),
          redisOptions: {
            ...options,
            ...(target.username === undefined ? {} : { username: target.username }),
            ...(target.password === undefined ? {} : { password: target.password }),
          },
        }),
      )
  }
}

/**
 * A Cluster whose failed nodes' errors keep the node's address, for messages and logs
 * (redisErrorMessage): a seed that cannot be reached fails its slots query with "Connection is
 * closed." alone, from a connection of its own whose errors ioredis does not pass on.
 */
function rememberingErrorNodes(cluster: Cluster): Cluster {
  cluster.on('node error', rememberErrorNode)
  return cluster
}
