/**
 * Calling Herald's Redis functions, loading the library on demand: a Redis
 * that restarted without persistence, or a fresh cluster node, answers
 * "Function not found" until it is loaded, and every caller heals that itself.
 */

import type { Cluster, Redis } from 'ioredis'
import { HERALD_FUNCTIONS } from './herald-functions.js'

export type RedisClient = Redis | Cluster

/** Loads (or replaces) the library on every master: Redis Cluster keeps functions per node. */
export async function loadHeraldFunctions(client: RedisClient): Promise<void> {
  const nodes = 'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [client as Redis]
  await Promise.all(nodes.map((node) => node.call('FUNCTION', 'LOAD', 'REPLACE', HERALD_FUNCTIONS)))
}

export function isFunctionMissing(error: unknown): boolean {
  return error instanceof Error && /Function not found|No such function/i.test(error.message)
}

/** `FCALL` (or `FCALL_RO`), loading the library and retrying once if Redis does not know it. */
export async function callHeraldFunction(
  client: RedisClient,
  readOnly: boolean,
  name: string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  const call = () => client.call(readOnly ? 'FCALL_RO' : 'FCALL', name, keys.length, ...keys, ...args)
  try {
    return await call()
  } catch (error) {
    if (!isFunctionMissing(error)) throw error
    await loadHeraldFunctions(client)
    return call()
  }
}
