/**
 * Names and shapes on the wire that clients match on.
 */

/**
 * Sent once the stream is live: after any replay, before live messages. Its
 * `id:` is the connection's position, so a client that has received nothing
 * yet still resumes from here. (An id-only frame would do this by the spec,
 * but some widely used EventSource libraries drop events without data.)
 */
export const READY_EVENT = 'herald.ready'
/** Sent first when a requested position cannot be resumed exactly. */
export const RESET_EVENT = 'herald.reset'
/** Sent instead of a stream when the node cannot take the connection now; the client retries later. */
export const UNAVAILABLE_EVENT = 'herald.unavailable'
/**
 * Moves the stream's position on a quiet channel to its current tail, so that a resume still
 * reads as exact once the channel's idle history has expired (docs/protocol.md). Carries only
 * its `id:`, and `{}` as data, since EventSource libraries drop events without data.
 */
export const POSITION_EVENT = 'herald.position'

/** Why a resume was not exact. */
export type ResetReason = 'trimmed' | 'unknown' | 'malformed'

/** Why a node turned a connection away for now. */
export type UnavailableReason =
  | 'over_capacity'
  | 'user_limit'
  | 'rate_limited'
  | 'draining'
  | 'broker_unavailable'
  | 'keys_unavailable'

export interface ReadyEventData {
  /** How the requested position was honoured. */
  readonly resume: 'fresh' | 'exact' | 'reset'
  /** Messages replayed from history before going live. */
  readonly replayed: number
  /**
   * The node's heartbeat interval: the longest the stream stays silent. Absent from gateways
   * older than this field; a client then cannot tell a dead stream from a quiet one.
   */
  readonly heartbeatMs?: number
}

export interface ResetEventData {
  readonly reason: ResetReason
}

export interface UnavailableEventData {
  readonly reason: UnavailableReason
  /** How long the client is asked to wait before it tries again. */
  readonly retryMs: number
}
