/**
 * CORS with an allowlist of exact origins. Only an allowed origin is echoed
 * back, and only then are credentials (the herald_token cookie) allowed, so a
 * page on any other origin cannot read a user's stream with their cookie.
 * The SSE route writes its own headers, so the rules are pure functions; the
 * app answers preflights on the paths that exist (see app.ts).
 */

import type { MiddlewareHandler } from 'hono'

/** The headers a cross-origin `fetch` may send: the token, a JSON body, and a resume position. */
const ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID'
const PREFLIGHT_MAX_AGE_SECONDS = '600'
/**
 * What the events path's answers carry for a client to read beyond the CORS-safelisted ones: a
 * shed stream's `Retry-After`, which @herald/client waits by, and its reason (docs/protocol.md).
 * Without this, a browser hides them from a cross-origin page.
 */
export const EVENTS_EXPOSED_HEADERS = 'Retry-After, X-Herald-Unavailable'

/** Whether `origin` is on the allowlist (none is, without one). */
export function isAllowedOrigin(origin: string | undefined, allowed: ReadonlySet<string>): origin is string {
  return origin !== undefined && allowed.has(origin)
}

/**
 * Headers for a response to `origin`: none without an allowlist; with one, `Vary: Origin`
 * (the answer depends on it, so caches must key on it), and the origin with credentials
 * (and the `exposed` headers, if any) when it is allowed.
 */
export function corsHeaders(
  origin: string | undefined,
  allowed: ReadonlySet<string>,
  exposed?: string,
): Record<string, string> {
  if (allowed.size === 0) return {}
  if (!isAllowedOrigin(origin, allowed)) return { Vary: 'Origin' }
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    ...(exposed === undefined ? {} : { 'Access-Control-Expose-Headers': exposed }),
    Vary: 'Origin',
  }
}

/** What a preflight from `origin` may do on a path taking `methods`: nothing unless it is allowed. */
export function preflightHeaders(
  origin: string | undefined,
  allowed: ReadonlySet<string>,
  methods: readonly string[],
): Record<string, string> {
  if (!isAllowedOrigin(origin, allowed)) return {}
  return {
    'Access-Control-Allow-Methods': methods.join(', '),
    'Access-Control-Allow-Headers': ALLOWED_HEADERS,
    'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS,
  }
}

/** Adds `corsHeaders` to every answer of the app, errors and preflights included. */
export function corsMiddleware(allowed: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    await next()
    if (allowed.size === 0) return
    for (const [name, value] of Object.entries(corsHeaders(c.req.header('origin'), allowed)))
      c.header(name, value, { append: name === 'Vary' })
  }
}
