/**
 * `GET /v1/events`: authenticate, work out the channels and the resume
 * position, take a slot from the budget, then hand the Node response to an
 * SseConnection and bring it live. Hono handles routing and errors up to
 * that point; after it, the stream is written to the ServerResponse directly.
 */

import { type Channel, frameEvent, frameRetry, READY_EVENT, type UnavailableReason } from '@herald/protocol'
import type { HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { Hono } from 'hono'
import { findToken } from '../auth/token-source.js'
import type { Principal } from '../auth/token-verifier.js'
import { HeraldError } from '../errors/herald-error.js'
import { closeTimeForExpiry } from '../hub/expiry-wheel.js'
import { type RequestedPosition, resumeConnection } from '../hub/resume.js'
import { SseConnection } from '../hub/sse-connection.js'
import { corsHeaders } from './cors.js'
import type { GatewayServices } from './services.js'
import { SHED_STATUS_HEADER, SSE_HEADERS, shedResponse } from './shed.js'
import { channelsFor, requestedPosition } from './subscription-request.js'

/** Live entries a connection may hold while it replays history. */
const MAX_QUEUED_WHILE_RESUMING = 10_000

export function eventsRoute(services: GatewayServices): Hono<{ Bindings: HttpBindings }> {
  const { config, broker, budget, metrics } = services
  const app = new Hono<{ Bindings: HttpBindings }>()

  app.get('/v1/events', async (c) => {
    const reject = (reason: UnavailableReason): Response => {
      metrics.connectionRejected(reason)
      return shedResponse(reason, config.retryMs, c.req.header(SHED_STATUS_HEADER) === '503')
    }
    if (services.lifecycle.draining) return reject('draining')
    const token = findToken({
      authorization: c.req.header('authorization'),
      cookie: c.req.header('cookie'),
      query: c.req.query('access_token'),
    })
    if (token === undefined) {
      metrics.connectionRejected('auth')
      throw new HeraldError(
        'HERALD_ERR_TOKEN_MISSING',
        'send a token as Authorization: Bearer, the herald_token cookie or access_token',
      )
    }
    let principal: Principal
    try {
      principal = await services.verifyToken(token)
    } catch (error) {
      if (error instanceof HeraldError && error.code === 'HERALD_ERR_KEYS_UNAVAILABLE')
        return reject('keys_unavailable')
      metrics.connectionRejected('auth')
      throw error
    }
    let channels: Channel[]
    try {
      channels = channelsFor(principal, c.req.query('topics'), config.maxTopicsPerConnection)
    } catch (error) {
      metrics.connectionRejected((error as HeraldError).status === 403 ? 'forbidden' : 'bad_request')
      throw error
    }
    const requested = requestedPosition(c.req.header('last-event-id'), c.req.query('lastEventId'))
    if (!broker.isAvailable()) return reject('broker_unavailable')
    if (!services.connectionRate.tryTake(Date.now())) return reject('rate_limited')
    const verdict = budget.tryAcquire(principal.userId)
    if (verdict !== 'ok') return reject(verdict)

    const cors = corsHeaders(c.req.header('origin'), config.corsAllowedOrigins)
    await openStream(c.env.outgoing, principal, channels, requested, cors)
    return RESPONSE_ALREADY_SENT
  })

  async function openStream(
    response: HttpBindings['outgoing'],
    principal: Principal,
    channels: Channel[],
    requested: RequestedPosition,
    cors: Record<string, string>,
  ): Promise<void> {
    response.writeHead(200, { ...SSE_HEADERS, ...cors })
    const connection = new SseConnection(response, principal.userId, channels, {
      maxPendingBytes: config.maxPendingBytes,
      maxQueuedWhileResuming: MAX_QUEUED_WHILE_RESUMING,
    })
    metrics.connectionOpened()
    // Refers to nothing but the connection, so an open stream keeps no request state alive.
    connection.onClose((reason) => {
      services.hub.detach(connection)
      services.expiry.remove(connection)
      budget.release(connection.userId)
      if (reason === 'slow_consumer') metrics.slowConsumerDisconnected()
      services.logger.debug({ reason, channels: connection.channels.length }, 'stream closed')
    })
    services.expiry.add(
      connection,
      closeTimeForExpiry(principal.expiresAtMs, Date.now(), config.tokenExpiryJitterMs, Math.random),
    )
    connection.writeText(frameRetry(config.retryMs))
    try {
      await services.hub.attach(connection)
      const result = await resumeConnection(connection, broker, requested)
      if (result.outcome !== 'fresh') metrics.resumed(result.outcome)
      const ready = JSON.stringify({ resume: result.outcome, replayed: result.replayed })
      connection.writeText(frameEvent(READY_EVENT, ready, connection.resumeToken()))
      connection.goLive()
    } catch (error) {
      // Headers are sent; the client reconnects from the last id it received.
      services.logger.warn({ err: error }, 'stream setup failed; closing so the client retries')
      connection.close('error')
    }
  }

  return app
}
