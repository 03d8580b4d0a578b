/**
 * What a client sees for an error, whichever way its request was served (the
 * Hono app, or the stream route ahead of it): JSON `{"error": {"code",
 * "message"}}` with the status its code maps to. Anything unexpected is
 * logged and answered with HERALD_ERR_INTERNAL, never a stack trace; a body the
 * client stopped sending is its own 400, not an internal error.
 */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { HTTPException } from 'hono/http-exception'
import type { Logger } from 'pino'
import { HeraldError } from '../errors/herald-error.js'

export interface ErrorReply {
  readonly status: HeraldError['status']
  readonly body: ReturnType<HeraldError['toJSON']>
  /**
   * What a 401 must carry (RFC 9110 §15.5.2): how to authenticate, and (RFC 6750) why it
   * failed. What a 503 carries: when to try again.
   */
  readonly headers: { readonly 'WWW-Authenticate'?: string; readonly 'Retry-After'?: string }
}

/**
 * A 503 is Redis away, slow or short of replicas, which a node often gets past within a second
 * (it retries its connection at most 1.2 s apart): a publisher that honours this retries soon,
 * and backs off further itself if the next answer is a 503 again. The shipped nginx says 5 when
 * no node answered at all.
 */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1

/**
 * The headers an error's status calls for: when to retry a 503, and how to authenticate after a
 * 401 (both routes take bearer credentials: a token for streams, a publish key for publishing).
 */
function replyHeaders(error: HeraldError): ErrorReply['headers'] {
  if (error.status === 503) return { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) }
  if (error.status !== 401) return {}
  const missing = error.code === 'HERALD_ERR_TOKEN_MISSING' || error.code === 'HERALD_ERR_PUBLISH_KEY_MISSING'
  return { 'WWW-Authenticate': missing ? 'Bearer realm="herald"' : 'Bearer realm="herald", error="invalid_token"' }
}

/**
 * Reading a request body failed because the client went away before it ended (Node's
 * IncomingMessage fails the read with 'aborted', ECONNRESET): the client's doing, not a bug.
 */
export function isClientAbort(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ECONNRESET' && error.message === 'aborted'
}

export function errorReply(error: unknown, logger: Logger): ErrorReply {
  const known =
    error instanceof HeraldError
      ? error
      : error instanceof HTTPException && error.status < 500
        ? new HeraldError('HERALD_ERR_BAD_REQUEST', error.message || 'bad request')
        : isClientAbort(error)
          ? new HeraldError('HERALD_ERR_BODY_INCOMPLETE', 'the client closed its connection before the body ended')
          : undefined
  if (known !== undefined) return { status: known.status, body: known.toJSON(), headers: replyHeaders(known) }
  logger.error({ err: error }, 'unhandled error')
  const internal = new HeraldError('HERALD_ERR_INTERNAL', 'internal error')
  return { status: internal.status, body: internal.toJSON(), headers: {} }
}

/** Sends `reply` on a Node response, for the paths served outside Hono (the stream route, Node's own refusals). */
export function writeErrorReply(response: ServerResponse, reply: ErrorReply, headers: OutgoingHttpHeaders = {}): void {
  response.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers, ...headers })
  response.end(JSON.stringify(reply.body))
}

/**
 * A refusal answered before its request's body has all arrived (a stream's GET has no use for
 * one) closes the connection once answered, with `Connection: close`. Kept alive, Node would go
 * on reading the rest to reach the next request, and a client trickling a large declared body
 * would hold the connection until the request timeout (300 s) for nothing.
 */
export function closeIfBodyUnread(request: IncomingMessage, response: ServerResponse): void {
  // `complete` alone is not enough: a refusal made at once can run before Node's parser has
  // marked even a request without a body complete.
  const { headers } = request
  const declaresBody =
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0')
  if (declaresBody && !request.complete) response.shouldKeepAlive = false
}
