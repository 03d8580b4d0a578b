/**
 * Turning a stream away for now. A native EventSource gives up for good on
 * any non-200 answer, so a node that cannot take a connection answers 200
 * with a jittered `retry:` hint and one `herald.unavailable` event, then
 * ends the stream: the browser comes back later by itself, and a fleet of
 * browsers does not come back in step.
 */

import { frameEventBody, frameRetry, UNAVAILABLE_EVENT, type UnavailableReason } from '@herald/protocol'
import { jitteredRetryMs } from '../hub/drain.js'

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
} as const

/** A per-user cap will not free up soon; everything else may free up in seconds. */
const BASE_DELAY_FACTOR: Readonly<Record<UnavailableReason, number>> = {
  over_capacity: 1,
  rate_limited: 1,
  draining: 0.5,
  broker_unavailable: 1,
  keys_unavailable: 1,
  user_limit: 10,
}

/** The delay a reason starts from, before its jitter. */
export function shedBaseDelayMs(reason: UnavailableReason, retryMs: number): number {
  return retryMs * BASE_DELAY_FACTOR[reason]
}

/** Base delay times a random factor in [1, 2). */
export function shedDelayMs(reason: UnavailableReason, retryMs: number, random: () => number = Math.random): number {
  return jitteredRetryMs(shedBaseDelayMs(reason, retryMs), random)
}

/**
 * A proxy that can retry another node (nginx `proxy_next_upstream http_503`) asks for a
 * 503 with `X-Herald-Shed-Status: 503`, and answers the browser with a 200 itself if
 * every node is full. Browsers never see anything but 200.
 */
export const SHED_STATUS_HEADER = 'x-herald-shed-status'

export interface ShedReply {
  readonly status: 200 | 503
  readonly headers: Record<string, string>
  readonly body: string
}

export function shedReply(reason: UnavailableReason, retryMs: number, proxyWantsStatus = false): ShedReply {
  const delayMs = shedDelayMs(reason, retryMs)
  // No `id:` line: an empty id would wipe the client's Last-Event-ID and lose its position.
  const body = `${frameRetry(delayMs)}${frameEventBody(UNAVAILABLE_EVENT, JSON.stringify({ reason, retryMs: delayMs }))}\n`
  return {
    status: proxyWantsStatus ? 503 : 200,
    headers: {
      ...SSE_HEADERS,
      'Retry-After': String(Math.ceil(delayMs / 1000)),
      'X-Herald-Unavailable': reason,
    },
    body,
  }
}
