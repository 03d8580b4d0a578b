/**
 * A single standalone redis-server per call, for tests of the plain Redis broker and for
 * kill/restart scenarios (a killed server comes back empty because nothing is persisted).
 */
import { pollUntil } from './poll.js'
import { dataNodeArgs, launchServer, type RedisServer } from './redis-server.js'

export interface StartRedisOptions {
  /** Extra redis-server arguments, appended last so they override the harness's defaults. */
  readonly args?: readonly string[]
  /** A command to run redis-server under, with its flags, e.g. valgrind; it must exec redis-server in-process. */
  readonly wrapper?: readonly string[]
  /** How long the server may take to say it is ready (default 15 s; a wrapper like valgrind is slower). */
  readonly readyTimeoutMs?: number
}

/** One standalone redis-server: `--save "" --appendonly no`, bound to 127.0.0.1, its own temp dir, logs captured. */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const extra = options.args ?? []
  return launchServer({
    kind: 'standalone',
    argv: (layout) => [...dataNodeArgs(layout), ...extra],
    ...(options.wrapper === undefined ? {} : { wrapper: options.wrapper }),
    ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
  })
}

/** A standalone redis-server replicating `master`, once its link is up and the initial sync done. */
export async function startReplicaOf(master: RedisServer): Promise<RedisServer> {
  const replica = await startRedis()
  await replica.cli('REPLICAOF', master.host, String(master.port))
  await pollUntil('the replica to be in sync', async () =>
    /master_link_status:up/.test(await replica.cli('INFO', 'replication')) ? true : undefined,
  )
  // The replica's side of the link is up before the master counts it online for WAIT: a first
  // publish that waits on replicas would time out against one still finishing its sync.
  await pollUntil('the master to count the replica online', async () =>
    /^slave0:.*state=online/m.test(await master.cli('INFO', 'replication')) ? true : undefined,
  )
  return replica
}
