/**
 * The Hono application: middleware, every route but the event stream (which
 * the server hands to `eventsRoute` before Hono sees it), the answers for the
 * other methods on their paths, and the error mapping of `errorReply`.
 */

import type { HttpBindings } from '@hono/node-server'
import { Hono, type MiddlewareHandler } from 'hono'
import type { RouterRoute } from 'hono/types'
import { devRoutes } from '../dev/dev-routes.js'
import { HeraldError } from '../errors/herald-error.js'
import { type AccessLogEnv, accessLog } from './access-log.js'
import { corsMiddleware, isAllowedOrigin, preflightHeaders } from './cors.js'
import { closeIfBodyUnread, errorReply, isClientAbort } from './error-reply.js'
import { EVENTS_PATH } from './events-route.js'
import { probesRoute } from './probes-route.js'
import { requirePublishKey } from './publish-auth.js'
import { handlePublish, publishBodyLimit } from './publish-route.js'
import type { GatewayServices } from './services.js'
import { parserAnswer } from './unparsed-request.js'

export const PUBLISH_PATH = '/v1/publish'

type Env = { Bindings: HttpBindings } & AccessLogEnv

export function createApp(services: GatewayServices): Hono<Env> {
  const { config, logger } = services
  // Routes match on the path as sent, as the server matches the stream's (see `requestTarget`).
  const app = new Hono<Env>({ getPath: pathAsSent })
  app.use(accessLog(logger))
  app.use(corsMiddleware(config.corsAllowedOrigins))
  app.route('/', probesRoute(services))
  app.post(
    PUBLISH_PATH,
    requirePublishKey(config.publishApiKeys),
    continueOnceAccepted(config.publishMaxBodyBytes),
    publishBodyLimit(config.publishMaxBodyBytes),
    (c) => handlePublish(c, services),
  )
  if (config.dev) app.route('/', devRoutes(services))

  // Any other method on a path that exists is a client mistake worth naming, not a missing
  // route: 405 with Allow. OPTIONS is one of them unless CORS is configured; then it answers
  // the preflight. The stream's GET never reaches Hono (the server hands it to eventsRoute).
  const cors = config.corsAllowedOrigins.size > 0
  const paths = methodsByPath(app.routes)
  paths.set(EVENTS_PATH, ['GET'])
  for (const [path, methods] of paths) {
    const allow = (cors ? [...methods, 'OPTIONS'] : methods).join(', ')
    app.all(path, (c) => {
      c.header('Allow', allow)
      if (cors && c.req.method === 'OPTIONS') {
        return c.body(null, 204, preflightHeaders(c.req.header('origin'), config.corsAllowedOrigins, methods))
      }
      throw new HeraldError('HERALD_ERR_METHOD_NOT_ALLOWED', `${path} takes ${allow}, not ${c.req.method}`)
    })
  }

  app.notFound((c) => {
    // A preflight from an allowed origin for a path that does not exist (a client pointed at the
    // wrong URL) is granted the method it asks for, so the browser sends the request and its page
    // reads the 404. A refused preflight reads as a network error, which a client retries for
    // ever (@herald/client did), instead of reporting the wrong URL.
    const requested = c.req.header('access-control-request-method')
    const origin = c.req.header('origin')
    const allowed = config.corsAllowedOrigins
    if (
      c.req.method === 'OPTIONS' &&
      requested !== undefined &&
      METHOD.test(requested) &&
      isAllowedOrigin(origin, allowed)
    ) {
      return c.body(null, 204, preflightHeaders(origin, allowed, [requested]))
    }
    closeIfBodyUnread(c.env.incoming, c.env.outgoing)
    c.set('errorCode', 'HERALD_ERR_NOT_FOUND')
    return c.json(new HeraldError('HERALD_ERR_NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`).toJSON(), 404)
  })
  app.onError((error, c) => {
    // The body broke off because Node answered for it (a 408, a 400: unparsed-request.ts), not
    // because the client left: logged as what the client was told.
    const answered = isClientAbort(error) ? parserAnswer(c.env.incoming.socket) : undefined
    const reply = errorReply(answered ?? error, logger)
    if (reply.status < 500 && c.req.path === PUBLISH_PATH)
      services.metrics.publishRefused(reply.status === 401 ? 'auth' : 'bad_request')
    // A refusal before the body was read (a wrong key, a 405) need not wait for the rest of it.
    closeIfBodyUnread(c.env.incoming, c.env.outgoing)
    c.set('errorCode', reply.body.error.code)
    return c.json(reply.body, reply.status, reply.headers)
  })
  return app
}

/** The methods each path's routes take, middleware aside; Hono answers HEAD wherever it answers GET. */
function methodsByPath(routes: readonly RouterRoute[]): Map<string, string[]> {
  const paths = new Map<string, string[]>()
  for (const { path, method } of routes) {
    if (method === 'ALL') continue
    const methods = paths.get(path) ?? []
    for (const taken of method === 'GET' ? ['GET', 'HEAD'] : [method]) if (!methods.includes(taken)) methods.push(taken)
    paths.set(path, methods)
  }
  return paths
}

/**
 * The path of the URL Hono is given, not percent-decoded (Hono's own `getPath` decodes it). The
 * server builds that URL from a path it has checked reads the same to a URL parser.
 */
function pathAsSent(request: Request): string {
  const url = request.url
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const query = url.indexOf('?', start)
  return query < 0 ? url.slice(start) : url.slice(start, query)
}

/** A method name as a preflight asks for it: letters only, so nothing else is echoed back. */
const METHOD = /^[A-Za-z]{1,20}$/

/** Node's reading of Expect, for the requests it holds back `100 Continue` for. */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i

/**
 * Sends the `100 Continue` the server held back for a publish, now that its key has passed
 * and its declared size, if it declares one, is within bounds (the body limit then refuses it
 * before its client sends the body). Before the body limit: a chunked body is read there,
 * and a client that honours Expect sends none until invited.
 */
function continueOnceAccepted(maxBodyBytes: number): MiddlewareHandler<Env> {
  return async (c, next) => {
    const { incoming, outgoing } = c.env
    const declared = incoming.headers['content-length']
    const withinBounds = declared === undefined || Number(declared) <= maxBodyBytes
    if (
      withinBounds &&
      incoming.httpVersionMinor === 1 &&
      CONTINUE.test(c.req.header('expect') ?? '') &&
      !outgoing.headersSent
    )
      outgoing.writeContinue()
    await next()
  }
}
