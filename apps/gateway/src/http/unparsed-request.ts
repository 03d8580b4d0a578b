/**
 * The answers Node itself gives before any route runs, as Herald's JSON errors: a request it
 * cannot parse (headers over its 16 KiB limit, both Transfer-Encoding and Content-Length, a
 * malformed request line), one that took too long to send its headers, and an `Expect` other
 * than `100-continue`. Node's defaults are bare status lines; clients and logs match on codes.
 * A socket answered here is destroyed once the answer is out, as Node's own handler does.
 */

import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { HeraldError } from '../errors/herald-error.js'
import { logRequest } from './access-log.js'
import { errorReply, writeErrorReply } from './error-reply.js'
import { requestLineOf } from './refused-route.js'

/**
 * How long an answer may take to leave before its socket is destroyed anyway: one a peer does
 * not read stays queued while the peer's window is full, and the socket with it.
 */
export const UNPARSED_ANSWER_FLUSH_MS = 5_000

/**
 * What Node's parser answered on the sockets of requests a route was still reading the body of
 * (a 408 when time ran out, a 400 for a body Node cannot read, such as `Transfer-Encoding: gzip`):
 * the route's log line says what the client was told, not that the body broke off.
 */
const parserAnswers = new WeakMap<Duplex, HeraldError>()

/** What Node's parser answered on this request's socket while a route was reading its body, if it did. */
export function parserAnswer(socket: Duplex): HeraldError | undefined {
  return parserAnswers.get(socket)
}

/** What Node's parser reported; only the code matters here. */
function errorFor(code: string | undefined): HeraldError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HeraldError('HERALD_ERR_HEADERS_TOO_LARGE', 'the request headers are larger than 16 KiB')
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HeraldError('HERALD_ERR_REQUEST_TIMEOUT', 'the request took too long to arrive')
    default:
      return new HeraldError('HERALD_ERR_BAD_REQUEST', 'the request is not valid HTTP/1.1')
  }
}

/**
 * For the server's 'clientError': answers on the socket itself, since there is no response
 * object. `refused` hears of each request it answers that no route saw, with its request line
 * where the packet Node failed on holds it.
 */
export function answerUnparsedRequest(
  error: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Duplex,
  logger: Logger,
  refused: (method: string, url: string) => void = () => {},
): void {
  const started = performance.now()
  // Not to a client that is already gone (a reset, or the connection closed in the middle of a
  // request: its route logs that request, as an incomplete body), nor, as Node's own handler, into
  // a response whose head went out already on this keep-alive connection (it would corrupt it).
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage
  // Bytes after a request that closes the connection (HTTP/1.0, `Connection: close`) are not a
  // request: its own answer is still to go, and a 400 in its place would tell a client whose
  // publish is being stored that it was refused. The connection closes once that answer is out.
  if (error.code === 'HPE_CLOSED_CONNECTION') {
    if (inFlight === undefined || inFlight === null) socket.destroy()
    return
  }
  const clientGone = error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE'
  // Bytes that break the parser after a whole request (junk, or a pipelined request with
  // headers over the limit) are no answer to that request either: a 4xx in place of a publish's
  // answer tells its client it was refused while it is being stored, and a client that sends it
  // again publishes it twice. The request gets its own answer, which closes the connection; the
  // bytes after it are not read, as after a request that closes its connection itself.
  // A FIN in the middle of the bytes after it (HPE_INVALID_EOF_STATE) leaves the client reading:
  // destroyed, the socket took the stored publish's answer with it, and the client got nothing.
  if (error.code !== 'ECONNRESET' && inFlight?.req?.complete === true && inFlight.headersSent !== true) {
    inFlight.shouldKeepAlive = false
    return
  }
  if (clientGone || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy()
    return
  }
  const herald = errorFor(error.code)
  if (inFlight !== undefined && inFlight !== null) parserAnswers.set(socket, herald)
  const body = JSON.stringify(herald.toJSON())
  // Destroyed, not only ended: a few hundred peers that never read nor close filled a node's fd limit.
  endAndDestroy(
    socket,
    `HTTP/1.1 ${herald.status} ${STATUS_CODES[herald.status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
  // A request a route is serving (its body broke off mid-way) gets that route's line; this one is for
  // requests no route saw.
  if (inFlight === undefined || inFlight === null) {
    const { method, url } = requestLineOf(error.rawPacket)
    refused(method, url)
    logRequest(logger, method, url, '', herald.status, started, { code: herald.code })
  }
}

/**
 * Ends the socket with `last` and destroys it once that has been handed to the kernel, which
 * still delivers it; or after a while, if the peer never takes it. Ended only, the socket would
 * stay open: Node's server sockets allow half-open connections, so after our FIN it waits for the
 * peer's, and a peer that never reads nor closes would hold the file descriptor for good.
 */
export function endAndDestroy(socket: Duplex, last?: string): void {
  const fallback = setTimeout(() => socket.destroy(), UNPARSED_ANSWER_FLUSH_MS).unref()
  socket.once('close', () => clearTimeout(fallback))
  if (last === undefined) socket.end(() => socket.destroy())
  else socket.end(last, () => socket.destroy())
}

/** For the server's 'checkExpectation': an Expect this server cannot meet. */
export function answerUnmetExpectation(request: IncomingMessage, response: ServerResponse, logger: Logger): void {
  const started = performance.now()
  const reply = errorReply(new HeraldError('HERALD_ERR_EXPECTATION_FAILED', 'Expect takes only 100-continue'), logger)
  writeErrorReply(response, reply, { Connection: 'close' })
  logRequest(logger, request.method ?? '', request.url ?? '', '', reply.status, started, {
    code: reply.body.error.code,
  })
}
