/**
 * Calling Herald's Redis functions, loading the library on demand: a Redis
 * that restarted without persistence, or a fresh cluster node, answers
 * "Function not found" until it is loaded, and every caller heals that itself.
 */

import type { Cluster, Redis } from 'ioredis'
import {
  FUNCTION_LIBRARY_NAME,
  FUNCTION_LIBRARY_VERSION,
  heraldFunctions,
  parseHeraldFunctions,
} from './herald-functions.js'
import { redisCause, redisErrorMessage } from './publish-error.js'

export type RedisClient = Redis | Cluster

/** Loads in progress, per client: after a restart every call in flight finds the library missing at once. */
const loading = new WeakMap<RedisClient, Promise<number[]>>()

/**
 * Loads the library on every master that lacks this version of it: Redis Cluster keeps
 * functions per node. Callers on one client while a load runs share it, so a resume storm
 * that meets a restarted Redis sends one load, not one per stream. Resolves to the version
 * each master holds afterwards: this one, or a newer one left in place.
 */
export function loadHeraldFunctions(client: RedisClient): Promise<number[]> {
  let load = loading.get(client)
  if (load === undefined) {
    const nodes = 'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [client as Redis]
    load = Promise.all(nodes.map(installOn))
    const settled = load
    const forget = () => {
      if (loading.get(client) === settled) loading.delete(client)
    }
    load.then(forget, forget)
    loading.set(client, load)
  }
  return load
}

/**
 * Brings one node's library to this version. A node without it gets one whose dataset began
 * now, by the node's clock; an older version is replaced keeping its dataset start; a newer one
 * is left alone, so an older publisher starting never undoes an upgrade.
 */
async function installOn(node: Redis): Promise<number> {
  // Two loaders racing on an empty node: the loser finds the winner's library on its next look.
  for (let attempt = 1; ; attempt++) {
    const code = await installedCode(node)
    const installed = code === undefined ? undefined : parseHeraldFunctions(code)
    if (code === undefined || installed === undefined) {
      const [seconds, micros] = (await node.call('TIME')) as [string, string]
      const sinceMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      try {
        await node.call('FUNCTION', 'LOAD', ...(code === undefined ? [] : ['REPLACE']), heraldFunctions(sinceMs))
        return FUNCTION_LIBRARY_VERSION
      } catch (error) {
        if (attempt < 3 && error instanceof Error && /already exists/i.test(error.message)) continue
        throw error
      }
    }
    if (installed.version > FUNCTION_LIBRARY_VERSION) return installed.version
    const wanted = heraldFunctions(installed.datasetSinceMs)
    if (code !== wanted) await node.call('FUNCTION', 'LOAD', 'REPLACE', wanted)
    return FUNCTION_LIBRARY_VERSION
  }
}

/** The code of the library a node holds, from `FUNCTION LIST … WITHCODE` (RESP2: flat name/value lists). */
async function installedCode(node: Redis): Promise<string | undefined> {
  const reply = await node.call('FUNCTION', 'LIST', 'LIBRARYNAME', FUNCTION_LIBRARY_NAME, 'WITHCODE')
  const library = (reply as unknown[][])[0]
  if (library === undefined) return undefined
  const at = library.indexOf('library_code')
  return at < 0 ? undefined : String(library[at + 1])
}

/** The version of Herald's library one node holds; undefined if it holds none (or a library of that name not Herald's). */
export async function installedHeraldVersion(node: Redis): Promise<number | undefined> {
  const code = await installedCode(node)
  return code === undefined ? undefined : parseHeraldFunctions(code)?.version
}

export function isFunctionMissing(error: unknown): boolean {
  return error instanceof Error && /Function not found|No such function/i.test(error.message)
}

/**
 * Redis lacked Herald's functions and loading them failed (most often an ACL without
 * `+function|list` and `+function|load`): the call never ran, so it wrote nothing.
 */
export class FunctionsLoadError extends Error {
  constructor(loadFailure: unknown) {
    super(
      `Redis does not hold Herald's functions (library ${FUNCTION_LIBRARY_NAME} v${FUNCTION_LIBRARY_VERSION}) and loading them failed (${redisErrorMessage(loadFailure)})`,
      { cause: redisCause(loadFailure) },
    )
    this.name = 'FunctionsLoadError'
  }
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
    await loadHeraldFunctions(client).catch((loadFailure: unknown) => {
      throw new FunctionsLoadError(loadFailure)
    })
    return call()
  }
}
