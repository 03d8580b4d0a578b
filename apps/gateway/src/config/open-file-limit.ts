/**
 * The process's soft open-file limit, read from /proc on Linux. Every SSE
 * connection holds a file descriptor, so this caps how many a node can serve.
 */

import { readFileSync } from 'node:fs'

/** `undefined` where /proc is missing or the limit is unlimited. */
export function readOpenFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string
  try {
    text = readFileSync(limitsFile, 'utf8')
  } catch {
    return undefined
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text)
  if (match === null || match[1] === 'unlimited') return undefined
  return Number(match[1])
}

/**
 * The default connection budget: the limit less headroom, half of it for requests other than
 * streams (probes, publishes) on a node full of streams, half for the process's own descriptors.
 */
export function connectionBudgetFromFileLimit(limit: number | undefined): number {
  if (limit === undefined) return 10_000
  return Math.max(1, limit - headroom(limit))
}

/**
 * How many client sockets may be open at once (http/socket-budget.ts), or `undefined` with no
 * limit to keep under: the limit less the process's own descriptors, half the headroom. They
 * are stdio, libuv's, a key-set fetch and the Redis connections: three on one Redis, about
 * five per node of a Cluster, which the larger limits serve.
 */
export function socketBudgetFromFileLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined
  return Math.max(1, limit - Math.floor(headroom(limit) / 2))
}

function headroom(limit: number): number {
  return Math.max(64, Math.ceil(limit * 0.05))
}

/**
 * Why `maxConnections` cannot be held under `limit`, or `undefined` if it can. Past the socket
 * budget, a new connection is closed unanswered: those streams are not shed with
 * `over_capacity`. A warning, not a refusal: a deliberate budget (a load test) may run closer
 * to the limit than the default headroom.
 */
export function fileLimitProblem(maxConnections: number, limit: number | undefined): string | undefined {
  if (limit === undefined || maxConnections <= connectionBudgetFromFileLimit(limit)) return undefined
  return `MAX_CONNECTIONS ${maxConnections} leaves too few of the ${limit} open files this process may have: past ${socketBudgetFromFileLimit(limit)} client sockets, new ones are closed unanswered instead of shed; raise the limit (ulimit -n, LimitNOFILE) or lower MAX_CONNECTIONS`
}
