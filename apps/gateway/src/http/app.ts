/**
 * The Hono application: middleware, routes and the error mapping. Every
 * error a client sees is JSON `{"error": {"code", "message"}}` with the
 * status its code maps to; anything unexpected is logged and answered with
 * HERALD_ERR_INTERNAL, never a stack trace.
 */

import type { HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { devRoutes } from '../dev/dev-routes.js'
import { HeraldError } from '../errors/herald-error.js'
import { accessLog } from './access-log.js'
import { corsMiddleware } from './cors.js'
import { eventsRoute } from './events-route.js'
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
  app.route('/', eventsRoute(services))
  app.post('/v1/publish', requirePublishKey(config.publishApiKeys), publishBodyLimit(config.publishMaxBodyBytes), (c) =>
    handlePublish(c, services),
  )
  if (config.dev) app.route('/', devRoutes(services))

  app.notFound((c) =>
    c.json(new HeraldError('HERALD_ERR_NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`).toJSON(), 404),
  )
  app.onError((error, c) => {
    if (error instanceof HeraldError) return c.json(error.toJSON(), error.status)
    if (error instanceof HTTPException && error.status < 500) {
      return c.json(new HeraldError('HERALD_ERR_BAD_REQUEST', error.message || 'bad request').toJSON(), 400)
    }
    logger.error({ err: error }, 'unhandled error')
    return c.json(new HeraldError('HERALD_ERR_INTERNAL', 'internal error').toJSON(), 500)
  })
  return app
}
