/**
 * One log line per request: method, path with credentials censored, status
 * and duration. Probes log at debug so they do not drown real traffic; a
 * caller that knows better (a stream turned away) gives the level itself.
 */

import type { MiddlewareHandler } from 'hono'
import type { Level, Logger } from 'pino'
import { redactUrl } from '../log/logger.js'

const PROBES = new Set(['/healthz', '/readyz', '/metrics'])

export function accessLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now()
    await next()
    const url = new URL(c.req.url)
    logRequest(logger, c.req.method, url.pathname, url.search, c.res.status, started)
  }
}

/** The line itself, shared with the stream route that is served ahead of Hono. */
export function logRequest(
  logger: Logger,
  method: string,
  path: string,
  search: string,
  status: number,
  startedMs: number,
  level: Level = PROBES.has(path) ? 'debug' : status >= 500 ? 'error' : 'info',
  fields: Record<string, unknown> = {},
): void {
  logger[level](
    { method, url: redactUrl(path + search), status, ms: Math.round(performance.now() - startedMs), ...fields },
    'request',
  )
}
