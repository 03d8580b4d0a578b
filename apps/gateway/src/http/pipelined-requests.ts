/**
 * Requests pipelined on one connection run in turn, and not at all once the connection is to
 * close.
 *
 * Node parses a pipelined request as soon as its bytes arrive and hands it to the listener at
 * once, holding only its answer (the response has no socket) until the answers before it are
 * written. So a publish pipelined behind a stream, or behind a refusal that closes the
 * connection, was stored and delivered, and its answer then never sent: the client saw the
 * connection close unanswered and sent the publish again, a duplicate without an idempotency
 * key. HTTP/1.1 (RFC 9112, 9.6) forbids acting on requests after a `Connection: close` answer.
 * Here a request waits until its answer has the socket; if the connection closes first, it is
 * dropped, as if it had never arrived.
 *
 * A waiting request has written nothing, so Node's own brake on pipelining, which stops reading
 * once the queued answers' bytes pass the socket's mark, never acts: a client that pipelined
 * requests and read no answer held millions of them, and a few such connections took a node to
 * 3.6 GB and a minutes-long stall. Past MAX_WAITING_ANSWERS, the connection is closed.
 */

import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Requests one connection may have waiting for their turn. Browsers do not pipeline; an HTTP
 * client that does keeps a few in flight (undici's default is 1), not dozens.
 */
export const MAX_WAITING_ANSWERS = 64

/** Per connection, the answers still waiting for the socket, each with what to do if dropped; one close listener each. */
const waiting = new WeakMap<Socket, Map<ServerResponse, () => void>>()

/**
 * Runs `handle` now if the response can be written now, else once the answers ahead of it are
 * written; never, if the connection closes first (`dropped` is called instead). A request that
 * would be the connection's MAX_WAITING_ANSWERS + 1st waiting closes it (`overflowed`, then
 * `dropped` for each).
 */
export function whenAnswerable(
  socket: Socket,
  response: ServerResponse,
  handle: () => void,
  dropped: () => void,
  overflowed: () => void,
): void {
  // An answer that closes the connection (`Connection: close`) may have been written already,
  // before Node parsed this request behind it: then this one gets the socket at once, though
  // the socket is only waiting for its last bytes to go before it is destroyed.
  if (socket.writableEnded || socket.destroyed) {
    dropped()
    return
  }
  if (response.socket !== null) {
    handle()
    return
  }
  let queued = waiting.get(socket)
  if (queued === undefined) {
    const answers = new Map<ServerResponse, () => void>()
    socket.once('close', () => {
      for (const drop of answers.values()) drop()
      answers.clear()
    })
    waiting.set(socket, answers)
    queued = answers
  }
  const answers = queued
  answers.set(response, dropped)
  if (answers.size > MAX_WAITING_ANSWERS) {
    overflowed()
    // Its 'close' drops every waiting request; the rest of what Node has parsed finds it destroyed.
    socket.destroy()
    return
  }
  response.once('socket', () => {
    answers.delete(response)
    if (socket.writableEnded) dropped()
    else handle()
  })
}
