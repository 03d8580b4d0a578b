/**
 * Which route a request refused before routing was meant for, so its refusal is counted where
 * the route's own refusals are (`herald_publish_refusals_total`, `herald_connections_rejected_total`).
 * Node's parser, the `Expect` check and the request-target check answer before any route runs:
 * a 431, a 417 or a 400 for a repeated Host went uncounted, and the dashboard's refusal lines
 * read low (found by a probe). The path is taken as sent, query aside; one that only normalises
 * to a route's (`/v1/x/../publish`) is not that route's.
 */

import { PUBLISH_PATH } from './app.js'
import { EVENTS_PATH } from './events-route.js'

export type RefusedRoute = 'publish' | 'stream'

export function refusedRoute(method: string, url: string): RefusedRoute | undefined {
  const query = url.indexOf('?')
  const path = query < 0 ? url : url.slice(0, query)
  if (method === 'POST' && path === PUBLISH_PATH) return 'publish'
  if (method === 'GET' && path === EVENTS_PATH) return 'stream'
  return undefined
}

/**
 * The method and target of the request line a packet starts with, for a request Node's parser
 * refused before handing it over (headers over 16 KiB): its log line and its count. Empty when
 * the packet holds no request line (the headers came in several reads).
 */
export function requestLineOf(packet: Buffer | undefined): { method: string; url: string } {
  if (packet === undefined) return { method: '', url: '' }
  const line = /^([A-Z]{1,20}) (\S{1,8192}) HTTP\/1\.[01]\r?\n/.exec(packet.toString('latin1', 0, 8300))
  return line === null ? { method: '', url: '' } : { method: line[1]!, url: line[2]! }
}
