/**
 * The types an app sees: the client's options, what its handlers receive, and
 * the role its tab plays. Kept apart from the client's state machine, which
 * only consumes them.
 */

import type { ResetReason } from '@herald/protocol'
import type { KeyValueStorage } from './last-id-store.js'
import type { TransportName } from './transport.js'

export interface HeraldClientOptions {
  /** The gateway's events endpoint, e.g. `https://notify.example.com/v1/events`. */
  readonly url: string
  /** Returns a token (a JWT); called at start, before the token expires, and after a 401. */
  readonly getToken: () => string | Promise<string>
  /** How long one getToken call may take before it counts as failed and is retried (default 15 s). */
  readonly tokenTimeoutMs?: number
  /** Topics to receive besides the user's own channel; each must be granted by the token. */
  readonly topics?: readonly string[]
  /**
   * Notification types to listen for over EventSource, which dispatches only the types listened for
   * (types passed to `on` are added). Fetch streaming delivers every type without this.
   */
  readonly types?: readonly string[]
  /** `auto` (default) streams with fetch where it can, else EventSource. */
  readonly transport?: 'auto' | TransportName
  /** Share one connection between this origin's tabs (default true, where Web Locks exist). */
  readonly shareAcrossTabs?: boolean
  /** The first retry delay until the server sends `retry:` (default 1000 ms). */
  readonly initialRetryMs?: number
  /** The longest wait between attempts (default 30 s). */
  readonly maxRetryMs?: number
  /**
   * Where the last event id survives reloads (default localStorage; null to keep none). Each tab
   * also keeps its own in sessionStorage, unless this is null.
   */
  readonly storage?: KeyValueStorage | null
}

export interface HeraldNotification<T = unknown> {
  readonly type: string
  /** The payload, parsed from JSON (the raw text if it is not JSON). */
  readonly data: T
  /** The event's id: a resume token, unique per notification. */
  readonly id: string
}

export interface HeraldReset {
  /**
   * Why the resume was not exact (docs/protocol.md): `trimmed`, `unknown` or `malformed`, or a
   * reason a later gateway adds, passed as it is.
   */
  readonly reason: ResetReason | (string & {})
}

export interface HeraldClientError {
  /** The gateway's HTTP status; 0 when the client stopped by itself (HERALD_ERR_USER_CHANGED). */
  readonly status: number
  readonly code: string
  readonly message: string
}

export type TabRole = 'leader' | 'follower' | 'alone'
