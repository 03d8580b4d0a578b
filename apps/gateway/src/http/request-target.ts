/**
 * What a request asks for, read once before routing: its path and query, as
 * sent, or the 400 when it cannot be served (a bad Host, or a target a URL
 * parser would read as another path). The stream's route and Hono's both
 * route on this path, so they cannot disagree about a request.
 */

import type { IncomingMessage } from 'node:http'
import { HeraldError } from '../errors/herald-error.js'
import { headerValues } from './raw-headers.js'

/** A request's path (as sent: never percent-decoded) and query (`?…`, or empty). */
export interface RequestTarget {
  readonly path: string
  readonly search: string
  /** Sent in absolute form (`http://host/path`). */
  readonly absolute: boolean
}

/**
 * Header fields a request may have, less one: the server's `maxHeadersCount`, past which Node
 * drops fields silently. Browsers send a few dozen, and proxies add a few more.
 */
export const MAX_HEADER_FIELDS = 1000

/**
 * The request's target, or the 4xx to answer when it cannot be served: too many header fields, Host missing from an
 * HTTP/1.1 request, repeated or malformed, as RFC 9112 (section 3.2) has servers refuse, or a
 * target that is not a plain path. Behind nginx, Host is the `$host` nginx has checked, and
 * clients send a DNS name or an address, so this refuses only what no client should send.
 * Host plays no other part (but in dev mode, whose /dev/ routes answer only a loopback Host:
 * dev/dev-routes.ts): a gateway serves one site, behind a proxy that already picked it,
 * so routes match on the path alone and Hono's URL takes the listening address as its origin;
 * a Host can neither steer a request nor end up in a URL. An HTTP/1.0 request without Host
 * (older load balancers' health checks send them) is served like any other.
 */
export function readTarget(request: IncomingMessage): RequestTarget | HeraldError {
  // Node keeps the first MAX_HEADER_FIELDS fields or so (in batches) and drops the rest without a
  // word: a second Authorization past them, which must be refused (raw-headers.ts), went unseen.
  if (request.rawHeaders.length >= 2 * MAX_HEADER_FIELDS) {
    return new HeraldError('HERALD_ERR_HEADERS_TOO_LARGE', `send fewer than ${MAX_HEADER_FIELDS} header fields`)
  }
  // Node's parser refuses other versions, but takes `HTTP/2.0` (for the HTTP/2 preface) and
  // would serve it as HTTP/1.1: it is an HTTP/2 client, or none, that sends it.
  if (request.httpVersionMajor !== 1)
    return new HeraldError('HERALD_ERR_BAD_REQUEST', 'the request is not valid HTTP/1.1')
  const hosts = headerValues(request.rawHeaders, 'host')
  const host = hosts[0]
  if (hosts.length > 1) return new HeraldError('HERALD_ERR_BAD_REQUEST', 'send one Host header, not several')
  if (host === undefined) {
    if (request.httpVersionMinor !== 0)
      return new HeraldError('HERALD_ERR_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header')
  } else if (!isValidHost(host)) {
    return new HeraldError('HERALD_ERR_BAD_REQUEST', 'Host is not a valid host[:port]')
  }
  return (
    requestTarget(request.url ?? '') ??
    new HeraldError(
      'HERALD_ERR_BAD_REQUEST',
      'the request target must be a plain path: no dot segments, backslashes, fragments or characters a URL escapes',
    )
  )
}

/** `uri-host [":" port]` (RFC 3986): an IP literal, or a name that may be empty; a port up to 65535. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::(\d*))?$/

function isValidHost(host: string): boolean {
  const match = HOST.exec(host)
  return match !== null && (match[1] === undefined || (match[1].length <= 5 && Number(match[1]) <= 65_535))
}

/** Characters a URL parser leaves as they are in a path. */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i

/**
 * The path and query of a request target, or undefined when it is not one to serve. The
 * stream's route and Hono's both match on this path, so they cannot disagree about a request.
 *
 * - The path is matched as sent. Percent-encoding is not decoded (`/v1/%65vents` is no route),
 *   and a path that a URL parser would read as another (dot segments, in any encoding, a
 *   backslash, a fragment, characters it escapes) is refused: a proxy in front, whose rules
 *   may allow or deny by path, then sees the same path the gateway serves.
 * - The absolute form (`GET http://host/v1/events`), which RFC 9112 has servers accept, is
 *   served by its path.
 */
export function requestTarget(target: string): RequestTarget | undefined {
  let rest = target
  const absolute = target[0] !== '/'
  if (absolute) {
    const authority = ABSOLUTE_FORM.exec(target)
    if (authority === null || !URL.canParse(target)) return undefined
    rest = target.slice(authority[0].length)
    if (rest[0] !== '/') rest = `/${rest}`
  }
  if (rest.includes('#')) return undefined
  const question = rest.indexOf('?')
  const path = question < 0 ? rest : rest.slice(0, question)
  if (!(PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) && !readsAsWritten(path)) return undefined
  return { path, search: question < 0 ? '' : rest.slice(question), absolute }
}

/** Whether a URL parser reads `path` as exactly `path`; the rare paths outside PLAIN_PATH come here. */
function readsAsWritten(path: string): boolean {
  try {
    return new URL(`http://h${path}`).pathname === path
  } catch {
    return false
  }
}
