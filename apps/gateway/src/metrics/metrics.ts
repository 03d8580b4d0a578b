/**
 * Prometheus metrics on a registry of Herald's own (never the global one, so
 * embedding Herald or running two gateways in one test process is safe).
 * Hot-path updates are batched: one counter increment per fan-out, not per
 * connection, into the allocation-free metrics of hot-metrics.ts.
 */

import type { UnavailableReason } from '@herald/protocol'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { monotonicMs } from '../clock/monotonic-ms.js'
import type { BudgetClose } from '../http/socket-budget.js'
import { collectEventLoopLagInWindows, EVENT_LOOP_SAMPLE_MS } from './event-loop-windows.js'
import { HotCounter, HotHistogram } from './hot-metrics.js'
import { replacePerHandleScans } from './per-handle-scans.js'

/**
 * Why a stream was turned away: a temporary unavailability, a bad request, or a token the node
 * failed to verify through a fault of its own (`internal`, answered 500 and logged).
 */
export type RejectReason = UnavailableReason | 'auth' | 'forbidden' | 'bad_request' | 'internal'

/**
 * Every label value, each exported at 0 from the start: rate() and increase() see no rise from a
 * series that appears at N, so a node's first storm of refusals would not show. A record, so a
 * reason added to the type and not here fails to compile.
 */
/** Why a publish was answered 503. */
export type PublishFailureCode = 'broker_unavailable' | 'not_replicated'
const PUBLISH_FAILURE_CODES: readonly PublishFailureCode[] = ['broker_unavailable', 'not_replicated']
/** Why a publish request was answered 4xx: no key or a wrong one (401), or anything else sent wrong. */
export type PublishRefusalReason = 'auth' | 'bad_request'
const PUBLISH_REFUSAL_REASONS: Record<PublishRefusalReason, null> = { auth: null, bad_request: null }

const REJECT_REASONS: Record<RejectReason, null> = {
  over_capacity: null,
  user_limit: null,
  rate_limited: null,
  draining: null,
  broker_unavailable: null,
  keys_unavailable: null,
  auth: null,
  forbidden: null,
  bad_request: null,
  internal: null,
}
const RESUME_OUTCOMES: Record<ResumeOutcome, null> = { exact: null, reset: null }

type ResumeOutcome = 'exact' | 'reset'

/** What the gauges read at each scrape, and the budget they are compared with. */
export interface MetricSources {
  readonly currentConnections: () => number
  readonly currentChannels: () => number
  readonly currentUnsentBytes: () => number
  /** How long the oldest live entry waiting for a turn of the event loop with room has waited, in ms (hub.ts). */
  readonly currentLiveBacklogAgeMs: () => number
  readonly brokerUp: () => boolean
  readonly maxConnections: number
  /** Whether tokens are verified with keys fetched from a JWKS (JWT_JWKS_URL). */
  readonly keysFromJwks?: boolean
}

export class Metrics {
  readonly registry = new Registry()
  readonly #connectionsOpened: Counter
  readonly #connectionsRejected: Counter<'reason'>
  readonly #published: Counter
  readonly #publishFailures: Counter
  readonly #publishRefusals: Counter<'reason'>
  readonly #delivered: HotCounter
  readonly #deliveryLatency: HotHistogram
  readonly #resumes: Counter<'outcome'>
  readonly #replayed: Counter
  /** Streams accepted and not live yet: the events route's own count, once it has said where it is. */
  #streamsInSetup: () => number = () => 0
  readonly #replayPassesAfterDrops: Counter
  readonly #slowConsumers: Counter
  readonly #liveBacklogDrops: Counter
  readonly #probeLatency: Histogram
  readonly #subscriberRebuilds: Counter
  readonly #redisConnectionErrors: Counter
  readonly #socketsClosedForBudget: Counter<'socket'>
  readonly #keySetFetchFailures: Counter
  /** Since when the node has gone without a fresh key set: its last fetch, or its start. */
  #keySetSinceMs: number | undefined

  constructor({
    currentConnections,
    currentChannels,
    currentUnsentBytes,
    currentLiveBacklogAgeMs,
    brokerUp,
    maxConnections,
    keysFromJwks,
  }: MetricSources) {
    const registers = [this.registry]
    // The budget beside the count, so an alert compares the two instead of a copied number.
    new Gauge({
      name: 'herald_connections_max',
      help: 'SSE connections this node accepts at most (MAX_CONNECTIONS)',
      registers,
    }).set(maxConnections)
    new Gauge({
      name: 'herald_redis_up',
      help: 'Whether the broker (Redis, or the embedded one) is connected and delivering (1) or not (0)',
      registers,
      collect() {
        this.set(brokerUp() ? 1 : 0)
      },
    })
    this.#probeLatency = new Histogram({
      name: 'herald_pubsub_probe_latency_seconds',
      help: 'Round trip of the periodic Pub/Sub probes this node publishes to itself, one per shard',
      // Up to 10 s: a quantile past the last bound reads as that bound, and a stalled Redis
      // (CLIENT PAUSE, a stopped master) read as exactly 1 s on every node in a probe.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10],
      registers,
    })
    this.#subscriberRebuilds = new Counter({
      name: 'herald_redis_subscriber_rebuilds_total',
      help: 'Times the Redis subscriber was found stuck (a shard not delivering, a reconnect not ending, channels of a moved slot not subscribable) and rebuilt',
      registers,
    })
    // herald_redis_up is sampled at scrape time and misses a flap between two scrapes; the log
    // shows a few errors per window. This counts every one.
    this.#redisConnectionErrors = new Counter({
      name: 'herald_redis_connection_errors_total',
      help: 'Errors on the Redis connections of this node (a connect refused or timed out, a socket dropped), one per failed attempt while it retries',
      registers,
    })
    new Gauge({
      name: 'herald_connections',
      help: 'Open SSE connections on this node',
      registers,
      collect() {
        this.set(currentConnections())
      },
    })
    // What the node's streams cost Redis: one shard-channel subscription per channel, however
    // many streams share it, so this sizes Pub/Sub (docs/capacity.md) and shows a leak, a
    // channel kept after its last stream left, as a count that stays up while streams go.
    new Gauge({
      name: 'herald_channels',
      help: 'Channels (users and topics) the open SSE connections of this node listen to: one broker subscription each, a shard channel in Redis',
      registers,
      collect() {
        this.set(currentChannels())
      },
    })
    // What slow clients cost this node's memory: each stream holds at most MAX_PENDING_BYTES and
    // one event before it is cut off, so a high figure is many slow streams, or a bound set high.
    new Gauge({
      name: 'herald_unsent_bytes',
      help: 'Bytes written to the SSE streams of this node that the kernel has not taken yet, counted per stream: an event written to many streams (a topic) is held in memory once',
      registers,
      collect() {
        this.set(currentUnsentBytes())
      },
    })
    // A node behind its live delivery: above 0 for more than moments, the node writes less than it
    // is sent, and its events arrive that late.
    new Gauge({
      name: 'herald_live_backlog_seconds',
      help: 'How long the oldest live entry this node received and has not written yet has waited for a turn of the event loop with room; 0 when none waits. Past 300 s when another entry comes (or 64 MiB waiting), the node drops what waits and closes its streams, which resume from history',
      registers,
      collect() {
        this.set(currentLiveBacklogAgeMs() / 1000)
      },
    })
    this.#connectionsOpened = new Counter({
      name: 'herald_connections_opened_total',
      help: 'SSE streams opened: gone live (herald.ready sent); one turned away during setup is a rejection only',
      registers,
    })
    this.#connectionsRejected = new Counter({
      name: 'herald_connections_rejected_total',
      help: 'SSE connection attempts turned away, by reason',
      labelNames: ['reason'],
      registers,
    })
    for (const reason of Object.keys(REJECT_REASONS)) this.#connectionsRejected.inc({ reason }, 0)
    this.#published = new Counter({
      name: 'herald_messages_published_total',
      help: 'Messages this node published, stored ones answered NOT_REPLICATED included; a repeated idempotency key counts again; one answered 503 that Redis applied later does not count',
      registers,
    })
    this.#publishFailures = new Counter({
      name: 'herald_publish_failures_total',
      help: 'Messages of publishes answered 503, by code: broker_unavailable (Redis away, slow or failing; may be stored in part) or not_replicated (stored, too few replicas confirmed it)',
      labelNames: ['code'],
      registers,
    })
    for (const code of PUBLISH_FAILURE_CODES) this.#publishFailures.inc({ code }, 0)
    // A backend left with a retired key after a rotation fails every publish, and its
    // notifications stop with no failure counted here (those are 503s), only access-log lines.
    this.#publishRefusals = new Counter({
      name: 'herald_publish_refusals_total',
      help: 'Publish requests answered 4xx, by reason: auth (401: no publish key, or one this node does not take) or bad_request (any other 4xx: the body, its type or the method); a request counts once, however many messages it held',
      labelNames: ['reason'],
      registers,
    })
    for (const reason of Object.keys(PUBLISH_REFUSAL_REASONS)) this.#publishRefusals.inc({ reason }, 0)
    this.#delivered = new HotCounter(
      'herald_messages_delivered_total',
      'Live messages written to SSE connections (replayed ones: herald_messages_replayed_total)',
      this.registry,
    )
    this.#replayed = new Counter({
      name: 'herald_messages_replayed_total',
      help: 'Messages from history written to SSE connections that resumed',
      registers,
    })
    const streamsInSetup = () => this.#streamsInSetup()
    new Gauge({
      name: 'herald_connections_in_setup',
      help: 'SSE connections accepted and not live yet: setting up, or replaying history (one whose client reads slower than its channels get live entries stays here)',
      registers,
      collect() {
        this.set(streamsInSetup())
      },
    })
    this.#replayPassesAfterDrops = new Counter({
      name: 'herald_replay_passes_after_drops_total',
      help: 'Extra passes over history that resuming connections made because the live entries held behind their replay passed MAX_PENDING_BYTES and were dropped, to be read from history instead',
      registers,
    })
    this.#deliveryLatency = new HotHistogram(
      'herald_delivery_latency_seconds',
      'From publish (broker clock) to the write to the sockets of this node',
      // Up to 30 s, so a subscriber held through an outage and caught up shows how late it was
      // (the linear search stops at the first bounds for the usual few milliseconds).
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      this.registry,
    )
    this.#resumes = new Counter({
      name: 'herald_resumes_total',
      help: 'Connections that sent a resume position, by outcome (exact or reset)',
      labelNames: ['outcome'],
      registers,
    })
    for (const outcome of Object.keys(RESUME_OUTCOMES)) this.#resumes.inc({ outcome }, 0)
    this.#socketsClosedForBudget = new Counter({
      name: 'herald_client_sockets_closed_total',
      help: 'Client sockets closed to stay within the open-file budget: an idle one for a newcomer (socket="idle"), else one whose client does not read its answers (socket="stalled"), else one whose request body is still to come (socket="unfinished"), or else the newcomer (socket="newcomer")',
      labelNames: ['socket'],
      registers,
    })
    for (const socket of ['idle', 'stalled', 'unfinished', 'newcomer']) this.#socketsClosedForBudget.inc({ socket }, 0)
    // A JWKS outage shows in the streams only at its edges (a new key, or a day on: every stream
    // shed as keys_unavailable, which forged kids can also raise); these two show it as it starts,
    // from the node's own fetches, which no client can make fail.
    this.#keySetSinceMs = keysFromJwks === true ? monotonicMs() : undefined
    const keySetSince = () => this.#keySetSinceMs
    new Gauge({
      name: 'herald_key_set_age_seconds',
      help: 'Seconds since this node last fetched a usable JWKS (since it started, if it has not yet); 0 without JWT_JWKS_URL. A node refetches only when a verification finds the set over 5 minutes old',
      registers,
      collect() {
        const sinceMs = keySetSince()
        this.set(sinceMs === undefined ? 0 : (monotonicMs() - sinceMs) / 1000)
      },
    })
    this.#keySetFetchFailures = new Counter({
      name: 'herald_key_set_fetch_failures_total',
      help: 'JWKS fetches this node made that failed: refused, not answered within 5 s, not 200, or not a usable key set',
      registers,
    })
    this.#slowConsumers = new Counter({
      name: 'herald_slow_consumer_disconnects_total',
      help: 'Connections cut off because their unsent bytes passed the bound',
      registers,
    })
    this.#liveBacklogDrops = new Counter({
      name: 'herald_live_backlog_drop_closes_total',
      help: 'Streams closed to resume from history because this node fell too far behind its live delivery (herald_live_backlog_seconds past 300 s, or 64 MiB waiting)',
      registers,
    })
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
    collectEventLoopLagInWindows(this.registry)
    replacePerHandleScans(this.registry)
  }

  connectionOpened(): void {
    this.#connectionsOpened.inc()
  }

  connectionRejected(reason: RejectReason): void {
    this.#connectionsRejected.inc({ reason })
  }

  published(count: number): void {
    this.#published.inc(count)
  }

  /** A publish of `count` messages answered 503: the publisher retries it, with the same idempotency keys. */
  publishFailed(code: PublishFailureCode, count: number): void {
    this.#publishFailures.inc({ code }, count)
  }

  /** A publish request answered 4xx: the caller's to fix, and nothing of it was stored. */
  publishRefused(reason: PublishRefusalReason): void {
    this.#publishRefusals.inc({ reason })
  }

  recordDelivery(delivered: number, publishedAtMs: number): void {
    if (delivered === 0) return
    this.#delivered.inc(delivered)
    this.#deliveryLatency.observe(Math.max(0, Date.now() - publishedAtMs) / 1000)
  }

  /** Live entries held while a stream resumed, written as it went live: delivered, but with no latency of their own. */
  recordHeldDelivery(delivered: number): void {
    this.#delivered.inc(delivered)
  }

  /** Live delivery fell too far behind: `streams` closed, to resume from history. */
  liveBacklogDropped(streams: number): void {
    this.#liveBacklogDrops.inc(streams)
  }

  /** Where to read how many streams are accepted and not live yet (the events route's setup watch). */
  countStreamsInSetup(count: () => number): void {
    this.#streamsInSetup = count
  }

  /** A resume read on in history because live entries held behind its replay were dropped. */
  replayPassAfterDrops(): void {
    this.#replayPassesAfterDrops.inc()
  }

  resumed(outcome: ResumeOutcome, replayed: number): void {
    this.#resumes.inc({ outcome })
    this.#replayed.inc(replayed)
  }

  pubsubProbe(seconds: number): void {
    this.#probeLatency.observe(seconds)
  }

  subscriberRebuilt(): void {
    this.#subscriberRebuilds.inc()
  }

  redisConnectionError(): void {
    this.#redisConnectionErrors.inc()
  }

  socketClosedForBudget(socket: BudgetClose): void {
    this.#socketsClosedForBudget.inc({ socket })
  }

  /** A JWKS fetch gave a usable set, now in use. */
  keySetFetched(atMs: number): void {
    this.#keySetSinceMs = atMs
  }

  keySetFetchFailed(): void {
    this.#keySetFetchFailures.inc()
  }

  slowConsumerDisconnected(): void {
    this.#slowConsumers.inc()
  }
}
