/**
 * One log line per request: method, path with credentials censored, status
 * and duration. Probes log at debug so they do not drown real traffic.
 */

import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { redactUrl } from '../log/logger.js'

const PROBES = new Set(['/healthz', '/readyz', '/metrics'])

export function accessLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now()
    await next()
    const url = new URL(c.req.url)
    const level = PROBES.has(url.pathname) ? 'debug' : c.res.status >= 500 ? 'error' : 'info'
    logger[level](
      {
        method: c.req.method,
        url: redactUrl(url.pathname + url.search),
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    )
  }
}
