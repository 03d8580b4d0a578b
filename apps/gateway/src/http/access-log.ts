/**
 * One log line per request: method, path with credentials censored, status
 * and duration. Probes log at debug so they do not drown real traffic; a
 * caller that knows better (a stream turned away) gives the level itself.
 */

import type { MiddlewareHandler } from 'hono'
import type { Level, Logger } from 'pino'
import { redactUrl } from '../log/logger.js'

const PROBES = new Set(['/healthz', '/readyz', '/metrics'])

/** What the error handler leaves for the access log: the answer's HERALD_ERR_* code. */
export type AccessLogEnv = { Variables: { errorCode: string | undefined } }

export function accessLog(logger: Logger): MiddlewareHandler<AccessLogEnv> {
  return async (c, next) => {
    const started = performance.now()
    await next()
    const url = new URL(c.req.url)
    const code = c.get('errorCode')
    logRequest(
      logger,
      c.req.method,
      url.pathname,
      url.search,
      c.res.status,
      started,
      code === undefined ? {} : { code },
    )
  }
}

/**
 * The line itself, shared with the stream route that is served ahead of Hono. An error answer
 * carries its `code`, so log queries can tell a 401 for an expired token from one for a bad
 * signature, as clients can.
 */
export function logRequest(
  logger: Logger,
  method: string,
  path: string,
  search: string,
  status: number,
  startedMs: number,
  fields: Record<string, unknown> = {},
  level: Level = levelOf(path, status),
): void {
  logger[level](
    { method, url: redactUrl(path + search), status, ms: Math.round(performance.now() - startedMs), ...fields },
    'request',
  )
}

/**
 * Probes at debug. A 503 is Redis away, not a fault of the node's own: warn, as the line that
 * names its cause is (a failover's retryable NOT_REPLICATED answers came as hundreds of error
 * lines a minute, which an alert on errors would take for an outage of Herald). Error is for
 * the 500s, which are bugs.
 */
function levelOf(path: string, status: number): Level {
  if (PROBES.has(path)) return 'debug'
  if (status === 503) return 'warn'
  return status >= 500 ? 'error' : 'info'
}
