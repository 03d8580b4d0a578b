/**
 * The IPC contract between the coordinator and its load workers. Every command carries an id;
 * the worker answers each with a reply of the same id.
 */

export interface Subscription {
  /** The stream whose sequence numbers this connection checks: a user id or a topic. */
  readonly key: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** The port of the node this stream goes to, where the target has several without a proxy. */
  readonly port?: number
}

export interface OpenCommand {
  readonly type: 'open'
  readonly host: string
  readonly port: number
  /** The event that says a stream is live; `null`: a 200 head is enough. */
  readonly readyEvent: string | null
  readonly subscriptions: readonly Subscription[]
  /** New connections per second this worker may start, and how many may be pending at once. */
  readonly ratePerSecond: number
  readonly timeoutMs: number
}

export type Command =
  | ({ readonly id: number } & OpenCommand)
  | { readonly id: number; readonly type: 'record' }
  | { readonly id: number; readonly type: 'stats' }
  | { readonly id: number; readonly type: 'verify'; readonly published: Readonly<Record<string, number>> }
  | { readonly id: number; readonly type: 'drop' }
  | { readonly id: number; readonly type: 'reconnect'; readonly fraction: number }
  | { readonly id: number; readonly type: 'exit' }

export interface WorkerStats {
  /** Streams live now. */
  readonly live: number
  readonly received: number
  readonly reconnects: number
  /** Streams turned away with herald.unavailable (they retry, as a browser would). */
  readonly shed: number
  readonly failed: number
  /** Heartbeats received since the last `record` (comments, or the naive baseline's heartbeat events). */
  readonly heartbeats: number
  /** Sparse latency histogram (µs) of deliveries since the last `record`. */
  readonly latency: Array<[number, number]>
}

export interface Verdict {
  readonly lost: number
  readonly duplicates: number
  readonly outOfOrder: number
}

export type Reply =
  | { readonly id: number; readonly type: 'ok' }
  | { readonly id: number; readonly type: 'opened'; readonly live: number; readonly failed: number }
  | { readonly id: number; readonly type: 'stats'; readonly stats: WorkerStats }
  | { readonly id: number; readonly type: 'verdict'; readonly verdict: Verdict }

/**
 * The payload every published message carries: its sequence number in its stream and its publish
 * time, which a paced publish gives as when the message fell due (pacer.ts).
 */
export function payload(seq: number, at: number = now()): string {
  return `{"s":${seq},"t":${at}}`
}

/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC, since boot), with µs
 * resolution: one clock for all the machine's processes, which the wall clock is not. Each
 * process anchors `performance.now()` to the wall clock once, at its start, so a wall-clock step
 * after that splits the processes. A VM restored from a snapshot steps its wall clock (seen on
 * 2026-12-03: every unicast and broadcast latency of a run came out 5.5–5.9 s, the step, between
 * a publisher started before it and workers started after it).
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6
}
