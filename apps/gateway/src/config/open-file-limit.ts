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
 * The default connection budget: the limit less headroom for Redis sockets,
 * the listener, log files and the descriptors Node keeps for itself.
 */
export function connectionBudgetFromFileLimit(limit: number | undefined): number {
  if (limit === undefined) return 10_000
  const headroom = Math.max(64, Math.ceil(limit * 0.05))
  return Math.max(1, limit - headroom)
}

/**
 * Why `maxConnections` cannot be held under `limit`, or `undefined` if it can. Past the limit,
 * accepting a connection fails in the kernel: those streams are reset, not shed with
 * `over_capacity`. A warning, not a refusal: a deliberate budget (a load test)
 * may run closer to the limit than the default headroom.
 */
export function fileLimitProblem(maxConnections: number, limit: number | undefined): string | undefined {
  if (limit === undefined || maxConnections <= connectionBudgetFromFileLimit(limit)) return undefined
  return `MAX_CONNECTIONS ${maxConnections} leaves too few of the ${limit} open files this process may have: streams past about ${limit} are reset instead of shed; raise the limit (ulimit -n, LimitNOFILE) or lower MAX_CONNECTIONS`
}
