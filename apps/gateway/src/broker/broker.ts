/**
 * The broker: where notifications are stored (bounded history per channel)
 * and announced to the nodes that serve the channel. Two implementations
 * share this interface and its contract tests (broker.contract.ts): the
 * embedded in-memory broker for a single node, and the Redis broker for a fleet.
 *
 * Position rules both implementations keep, so resume means the same on each:
 * - Entry ids are `<ms>-<seq>`, strictly increasing per channel.
 * - `tail` returns a position no future entry can equal or precede: the
 *   newest entry's id, or for a channel with no history `<now>-0` (a new
 *   channel's first entry is at least `<now>-1`).
 * - `readAfter` answers `trimmed` when anything after the position has been
 *   deleted (trimmed, or expired with the idle channel), or may have been lost
 *   with the dataset the broker had before (a restart without persistence),
 *   and `unknown` when the position is ahead of anything the channel has issued, or lies
 *   between two of its entries without being one (another history issued it).
 */

import type { StreamId } from '@herald/protocol'

export interface HistoryEntry {
  /** `<ms>-<seq>`, the entry's position in its channel. */
  readonly id: string
  readonly type: string | undefined
  /** The payload as JSON text. */
  readonly data: string
  /** Broker clock at append time, for delivery-latency metrics. */
  readonly publishedAtMs: number
}

export interface PublishRequest {
  readonly channelKey: string
  readonly type: string | undefined
  readonly data: string
  /** Publishing the same key to the same channel again returns the first id and appends nothing. */
  readonly idempotencyKey: string | undefined
}

export type HistoryRead =
  | {
      readonly outcome: 'entries'
      readonly entries: readonly HistoryEntry[]
      /** Set when the page stopped at its byte bound, short of its limit: the history may go on. */
      readonly truncated?: true
    }
  | { readonly outcome: 'trimmed' }
  | { readonly outcome: 'unknown' }

/** Receives every entry of every channel this node subscribed to, in channel order. */
export interface BrokerSink {
  deliver(channelKey: string, entry: HistoryEntry): void
  /** Live delivery stopped (the subscriber connection dropped): entries may be missed from here on. */
  suspend(): void
  /** Live delivery of these channels stopped (their slot moved to another master): hold them. */
  hold(channelKeys: readonly string[]): void
  /**
   * Live delivery is back and resubscribed: catch these channels (by default every one) up from
   * history. Resolves to how many could not be, whose streams were closed to resume instead.
   */
  resync(channelKeys?: readonly string[]): Promise<number>
}

export interface Broker {
  readonly kind: 'memory' | 'redis'
  /** The longest a publish can take to settle, answered or failed: what a shutdown waits for one. */
  readonly publishDeadlineMs: number
  /**
   * Starts delivering to `sink`. A start that waits for its server stops waiting once `stopping`
   * is aborted (a signal during startup) and resolves; the caller then closes the broker.
   */
  start(sink: BrokerSink, stopping?: AbortSignal): Promise<void>
  /** Appends and announces each request in order; resolves to their entry ids. */
  publish(requests: readonly PublishRequest[]): Promise<string[]>
  /** Idempotent. Resolves once live entries of the channel will reach the sink. */
  subscribe(channelKey: string): Promise<void>
  unsubscribe(channelKey: string): Promise<void>
  tail(channelKey: string): Promise<string>
  /**
   * Up to `limit` entries strictly after `after`, oldest first. Fewer than `limit` means the tail
   * was reached, unless the page is `truncated`: it stops before the entry that would take its
   * data past `maxBytes` (never before its first entry).
   */
  readAfter(channelKey: string, after: StreamId, limit: number, maxBytes?: number): Promise<HistoryRead>
  /** Whether publishing and delivery work right now. */
  isAvailable(): boolean
  /**
   * Whether a publish can be stored right now. Weaker than isAvailable: while this node's own
   * subscriber recovers, what it publishes is still stored, delivered by the other nodes, and
   * caught up here from history.
   */
  canPublish(): boolean
  close(): Promise<void>
}

export interface BrokerOptions {
  readonly historyMaxLen: number
  readonly historyTtlSeconds: number
  readonly idempotencyTtlSeconds: number
  /** Redis only: a publish succeeds once this many replicas have it (WAIT), so it survives a failover. */
  readonly waitForReplicas?: { readonly replicas: number; readonly timeoutMs: number } | undefined
}
