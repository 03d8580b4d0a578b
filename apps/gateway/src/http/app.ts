/**
 * The Hono application: middleware, every route but the event stream (which
 * the server hands to `eventsRoute` before Hono sees it), and the error
 * mapping of `errorReply`.
 */

import type { HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { devRoutes } from '../dev/dev-routes.js'
import { HeraldError } from '../errors/herald-error.js'
import { accessLog } from './access-log.js'
import { corsMiddleware } from './cors.js'
import { errorReply } from './error-reply.js'
import { EVENTS_PATH } from './events-route.js'
import { probesRoute } from './probes-route.js'
import { requirePublishKey } from './publish-auth.js'
import { handlePublish, publishBodyLimit } from './publish-route.js'
import type { GatewayServices } from './services.js'

export function createApp(services: GatewayServices): Hono<{ Bindings: HttpBindings }> {
  const { config, logger } = services
  const app = new Hono<{ Bindings: HttpBindings }>()
  app.use(accessLog(logger))
  app.use(corsMiddleware(config.corsAllowedOrigins))
  app.route('/', probesRoute(services))
  app.post('/v1/publish', requirePublishKey(config.publishApiKeys), publishBodyLimit(config.publishMaxBodyBytes), (c) =>
    handlePublish(c, services),
  )
  if (config.dev) app.route('/', devRoutes(services))
  // The stream's GET never reaches Hono (the server hands it to eventsRoute); any other method
  // on the API's paths is a client mistake worth naming, not a missing route.
  for (const [path, allowed] of [
    [EVENTS_PATH, 'GET'],
    ['/v1/publish', 'POST'],
  ] as const) {
    app.all(path, (c) => {
      c.header('Allow', allowed)
      throw new HeraldError('HERALD_ERR_METHOD_NOT_ALLOWED', `${path} takes ${allowed}, not ${c.req.method}`)
    })
  }

  app.notFound((c) =>
    c.json(new HeraldError('HERALD_ERR_NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`).toJSON(), 404),
  )
  app.onError((error, c) => {
    const reply = errorReply(error, logger)
    return c.json(reply.body, reply.status)
  })
  return app
}
