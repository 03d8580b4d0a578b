/**
 * `GET /v1/events`: authenticate, work out the channels and the resume
 * position, take a slot from the budget, then hand the response to an
 * SseConnection and bring it live.
 *
 * Served on Node's request and response directly, ahead of Hono: a stream
 * lives for hours, and a framework request (its Request, headers object,
 * context and close handler) would be kept alive with it, about 0.4 KB per
 * idle stream. Errors, CORS and the access log follow the same rules as the
 * Hono routes, through the same functions.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Channel, frameEvent, frameRetry, READY_EVENT, type UnavailableReason } from '@herald/protocol'
import { findToken, TOKEN_QUERY_PARAMETER } from '../auth/token-source.js'
import type { Principal } from '../auth/token-verifier.js'
import { HeraldError } from '../errors/herald-error.js'
import { closeTimeForExpiry } from '../hub/expiry-wheel.js'
import { type RequestedPosition, resumeConnection, topUp } from '../hub/resume.js'
import { SetupWatch } from '../hub/setup-watch.js'
import { SseConnection, type SseConnectionOptions } from '../hub/sse-connection.js'
import { logRequest } from './access-log.js'
import { corsHeaders, EVENTS_EXPOSED_HEADERS } from './cors.js'
import { closeIfBodyUnread, errorReply, writeErrorReply } from './error-reply.js'
import { blankHeaderValues, CREDENTIAL_HEADERS, headerValue, headerValues } from './raw-headers.js'
import type { GatewayServices } from './services.js'
import { SHED_STATUS_HEADER, SSE_HEADERS, shedReply } from './shed.js'
import { channelsFor, misnamedParameter, requestedPosition } from './subscription-request.js'

export const EVENTS_PATH = '/v1/events'

/** Live entries a connection may hold while it replays history; past it, they are dropped and read from history. */
const MAX_QUEUED_WHILE_RESUMING = 10_000

/** How often a stream still being set up checks that the broker is still there. */
const SETUP_WATCH_MS = 1_000

export type EventsHandler = (request: IncomingMessage, response: ServerResponse) => void

/** A stream turned away, and why. */
interface Shed {
  readonly status: number
  readonly reason: UnavailableReason
}

export function eventsRoute(services: GatewayServices): EventsHandler {
  const { config, broker, budget, metrics, logger } = services

  const streamOptions: SseConnectionOptions = {
    maxPendingBytes: config.maxPendingBytes,
    maxQueuedWhileResuming: MAX_QUEUED_WHILE_RESUMING,
    stalledReplayMs: 2 * config.heartbeatIntervalMs,
    onClose(connection, reason) {
      services.hub.detach(connection)
      services.expiry.remove(connection)
      budget.release(connection.userId)
      const fields = { reason, channels: connection.channels.length }
      if (reason === 'slow_consumer') {
        metrics.slowConsumerDisconnected()
        // A cut is the node's doing, which its tab sees as a reconnect: ops looking into one need
        // the line (no user id: Herald logs none), where a client leaving is routine.
        if (services.slowConsumerLog.take()) logger.info(fields, 'stream closed')
      } else logger.debug(fields, 'stream closed')
    },
    turnAway,
  }

  /**
   * Everything up to the stream: either opens it, or answers and ends the response. Resolves
   * to the status, or to the shed, which the access log tells from a failure.
   */
  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    query: URLSearchParams,
    cors: Record<string, string>,
  ): Promise<number | Shed> {
    const header = (name: string) => headerValue(request.rawHeaders, name)
    const reject = (reason: UnavailableReason): Shed => {
      metrics.connectionRejected(reason)
      const shed = shedReply(reason, config.retryMs, header(SHED_STATUS_HEADER) === '503')
      closeIfBodyUnread(request, response)
      // A node at its connection budget is near its open-file limit too: a client that kept the
      // connection of its refusal would hold a descriptor (for the 65 s keep-alive), and enough
      // of them leave none to accept with, so that new clients and /healthz were reset.
      if (reason === 'over_capacity') response.shouldKeepAlive = false
      response.writeHead(shed.status, { ...shed.headers, ...cors })
      response.end(shed.body)
      return { status: shed.status, reason }
    }
    const misnamed = misnamedParameter(query.keys())
    if (misnamed !== undefined) {
      metrics.connectionRejected('bad_request')
      throw misnamed
    }
    if (services.lifecycle.draining) return reject('draining')
    let token: string | undefined
    try {
      token = findToken({
        authorization: headerValues(request.rawHeaders, 'authorization'),
        cookie: header('cookie'),
        query: query.getAll(TOKEN_QUERY_PARAMETER),
      })
    } catch (error) {
      metrics.connectionRejected('auth')
      throw error
    }
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
      // Not the token's fault (see token-verifier's toHeraldError): counted as `auth`, a node
      // refusing every token would look like clients sending bad ones.
      metrics.connectionRejected(error instanceof HeraldError ? 'auth' : 'internal')
      throw error
    }
    let channels: Channel[]
    try {
      // Repeated, as a client that adds one parameter per topic sends them, the lists join.
      channels = channelsFor(
        principal,
        query
          .getAll('topics')
          .filter((topics) => topics !== '')
          .join(','),
        config.maxTopicsPerConnection,
      )
    } catch (error) {
      metrics.connectionRejected((error as HeraldError).status === 403 ? 'forbidden' : 'bad_request')
      throw error
    }
    const requested = requestedPosition(headerValues(request.rawHeaders, 'last-event-id'), query.getAll('lastEventId'))
    // Again: a drain may have begun while the token was being verified (a JWKS fetch), and a
    // stream opened now would be cut by the final close without a retry hint.
    if (services.lifecycle.draining) return reject('draining')
    if (!broker.isAvailable()) return reject('broker_unavailable')
    // The budget before the rate: a stream refused for the user's limit or a full node must not
    // spend a token of the node-wide rate, or one user retrying at their limit (as EventSource
    // does by itself) would keep every other user shed as rate_limited.
    const verdict = budget.tryAcquire(principal.userId)
    if (verdict !== 'ok') return reject(verdict)
    if (!services.connectionRate.tryTake(Date.now())) {
      budget.release(principal.userId)
      return reject('rate_limited')
    }

    // Connection: close. A stream's connection is worth nothing once the stream ends, and a proxy
    // that pooled it (nginx's upstream keepalive) would send a publish down it: when the stream
    // ended because its node is shutting down, the node resets it, and nginx does not retry a POST.
    response.shouldKeepAlive = false
    response.writeHead(200, { ...SSE_HEADERS, ...cors })
    services.sockets?.streamOpened(request.socket)
    const connection = new SseConnection(response, principal.userId, channels, streamOptions)
    forgetCredentials(request)
    services.expiry.add(
      connection,
      closeTimeForExpiry(principal.expiresAtMs, Date.now(), config.tokenExpiryJitterMs, Math.random),
    )
    connection.writeText(frameRetry(config.retryMs))
    void bringLive(connection, requested)
    return 200
  }

  // A stream in setup that the broker stalls (the Pub/Sub probe is overdue) is turned away as a
  // new one would be: `herald.unavailable` with a jittered `retry:` and no `id:`, so the client
  // keeps its position and comes back later.
  const settingUp = new SetupWatch<SseConnection>(SETUP_WATCH_MS, broker.isAvailable.bind(broker), turnAway)
  metrics.countStreamsInSetup(() => settingUp.size)

  /** Ends a stream in setup as a shed one: the client keeps its position and comes back later. */
  function turnAway(connection: SseConnection): void {
    // One the client left meanwhile waits for its setup to end, and is no rejection.
    if (connection.state === 'closed') return
    metrics.connectionRejected('broker_unavailable')
    // Its request line said 200 when the stream opened; this says it was shed after all.
    if (services.shedLog.take()) logger.warn({ shed: 'broker_unavailable' }, 'stream turned away during setup')
    connection.writeText(shedReply('broker_unavailable', config.retryMs).body)
    connection.close('broker_unavailable')
  }

  async function bringLive(connection: SseConnection, requested: RequestedPosition): Promise<void> {
    settingUp.add(connection)
    try {
      await services.hub.attach(connection)
      let result = await resumeConnection(connection, broker, requested)
      // A hold (a slot move, or a subscriber that dropped) kept one of its channels while it set
      // up: live entries of the hold may have missed it, and the channel's catch-up covered the
      // live streams only. Or live entries held behind the replay were dropped, past the bound
      // (sse-connection.ts). Either way, the replay reads on to the end of history.
      for (;;) {
        if (!(await services.hub.afterHolds(connection))) {
          if (!connection.takeDroppedWhileResuming()) break
          metrics.replayPassAfterDrops()
        }
        result = await topUp(connection, broker, result)
      }
      if (connection.state === 'closed') return
      if (result.outcome !== 'fresh') metrics.resumed(result.outcome, result.replayed)
      // heartbeatMs: the longest silence this stream will have, so a client can tell a stream
      // that went quiet (a half-open connection, a proxy that dropped its upstream) from an idle one.
      const ready = `{"resume":"${result.outcome}","replayed":${result.replayed},"heartbeatMs":${config.heartbeatIntervalMs}}`
      connection.writeText(frameEvent(READY_EVENT, ready, connection.resumeToken()))
      // Opened once live: a stream turned away during setup counts as rejected, and only so.
      metrics.connectionOpened()
      metrics.recordHeldDelivery(connection.goLive(result.replayed > 0))
    } catch (error) {
      // The head is still held, so a dropped connection would reach the client as an empty
      // reply (a network error to it). Turned away instead, it comes back after a jittered
      // retry from its last id, which covers whatever was replayed before the failure.
      // The message only, as for a failed publish: a Redis error carries its command, and with it
      // the user's stream key.
      if (services.brokerFailureLog.take())
        logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'stream setup failed; turning the stream away so the client retries',
        )
      turnAway(connection)
    } finally {
      settingUp.delete(connection)
    }
  }

  return (request, response) => {
    const started = performance.now()
    const url = request.url ?? EVENTS_PATH
    const question = url.indexOf('?')
    const search = question < 0 ? '' : url.slice(question)
    const cors = corsHeaders(
      headerValue(request.rawHeaders, 'origin'),
      config.corsAllowedOrigins,
      EVENTS_EXPOSED_HEADERS,
    )
    serve(request, response, new URLSearchParams(search), cors)
      .catch((error: unknown) => {
        if (response.headersSent) {
          response.destroy()
          return 500
        }
        const reply = errorReply(error, logger)
        closeIfBodyUnread(request, response)
        writeErrorReply(response, reply, cors)
        return { status: reply.status, code: reply.body.error.code }
      })
      .then((outcome) => {
        if (typeof outcome === 'number') logRequest(logger, 'GET', EVENTS_PATH, search, outcome, started)
        else if ('code' in outcome)
          logRequest(logger, 'GET', EVENTS_PATH, search, outcome.status, started, { code: outcome.code })
        // The node working as designed, not an error; and sheds come in storms.
        else if (services.shedLog.take()) {
          logRequest(logger, 'GET', EVENTS_PATH, search, outcome.status, started, { shed: outcome.reason }, 'warn')
        }
      })
  }
}

/**
 * Node keeps a request for as long as its response is open, hours for a stream, with its
 * headers (raw and parsed) and URL: the token the stream was opened with (a header, the
 * cookie or `access_token` in the query) would stay in memory with it. Nothing reads them
 * once the stream is open.
 */
function forgetCredentials(request: IncomingMessage): void {
  blankHeaderValues(request.rawHeaders, CREDENTIAL_HEADERS)
  // Node has parsed `headers` already, for its own check of Expect, with the same value strings.
  const parsed = request.headers
  for (const name of CREDENTIAL_HEADERS) if (parsed[name] !== undefined) parsed[name] = ''
  request.url = EVENTS_PATH
}
