/**
 * CORS with an allowlist of exact origins. Only an allowed origin is echoed
 * back, and only then are credentials (the herald_token cookie) allowed, so a
 * page on any other origin cannot read a user's stream with their cookie.
 * The SSE route writes its own headers, so the same rule is a pure function too.
 */

import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'

/** Headers for a response to `origin`, or none when it is not allowed. */
export function corsHeaders(origin: string | undefined, allowed: ReadonlySet<string>): Record<string, string> {
  if (origin === undefined || !allowed.has(origin)) return {}
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' }
}

export function corsMiddleware(allowed: ReadonlySet<string>): MiddlewareHandler {
  return cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    credentials: true,
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
    maxAge: 600,
  })
}
