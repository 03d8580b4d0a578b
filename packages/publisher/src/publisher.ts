/**
 * The Node publisher: validates messages with Herald's name rules, then
 * publishes them through the `herald_publish_batch` Redis function, up to
 * 100 messages a call (one channel's per call in a cluster, where a call's
 * keys must share a slot); calls made in one tick are pipelined (ioredis
 * auto-pipelining, per node in a cluster). With `waitForReplicas`, a publish resolves only
 * once Redis `WAIT` confirms that many replicas have it, so a failover
 * cannot lose a message the caller was told is safe.
 *
 * Every publish settles within `timeoutMs` (plus the `WAIT` timeout): a Redis that is stopped
 * or wedged keeps its socket open, and a Sentinel or Cluster client retries for ever. The
 * publisher also never queues a call while Redis is away: a publish waits for the connection
 * (its own or the caller's) and fails once it has failed twice, for all three topologies alike.
 */

import { whenConnected } from './connection-ready.js'
import { kindOf } from './describe-value.js'
import { callHeraldFunction, type RedisClient } from './functions.js'
import { channelSlot, idempotencyKey, streamKey } from './keys.js'
import { type EncodedMessage, encodeMessage, type Message, refuseUnknownFields, type Target } from './message.js'
import { type MigrationDeadline, REFUSED_WHILE_MIGRATING, sendThroughMigration } from './migration-retry.js'
import { PublishError, redisCause, redisErrorMessage } from './publish-error.js'
import { MAY_BE_APPLIED, publishFailure } from './publish-failure.js'
import {
  DEFAULT_HISTORY_TTL_SECONDS,
  DEFAULT_MAX_DATA_BYTES,
  MAX_TIMER_MS,
  optionsProblem,
  redisClientProblem,
} from './publisher-options.js'
import { createRedisClient, parseRedisTarget } from './redis-target.js'
import { ReplicaWait } from './replica-wait.js'
import { quitWithin, settledWithin } from './settled-within.js'

export interface PublisherOptions {
  /**
   * A Redis URL (`redis://`, `redis+sentinel://h:p,h:p/name`, `redis+cluster://h:p,h:p`),
   * or an ioredis client the caller owns (whose connection and queueing policy are the caller's).
   */
  readonly redis: string | RedisClient
  readonly historyMaxLen?: number
  readonly historyTtlSeconds?: number
  readonly idempotencyTtlSeconds?: number
  /**
   * How long a publish may wait for Redis before it fails with `HERALD_ERR_REDIS` (default 5000 ms;
   * `waitForReplicas.timeoutMs` comes on top).
   */
  readonly timeoutMs?: number
  /** Wait until this many replicas acknowledge each publish (Redis `WAIT`), or fail. Whole numbers, both at least 1. */
  readonly waitForReplicas?: { readonly replicas: number; readonly timeoutMs: number } | null
  /**
   * The largest data a message may have, in bytes of UTF-8 JSON (default 262144, 256 KiB: the
   * gateway's default publish body limit); larger fails with `HERALD_ERR_DATA_TOO_LARGE`.
   */
  readonly maxDataBytes?: number
}

/** How far a publish got, for the words of its failure. */
interface PublishProgress extends MigrationDeadline {
  /** Its calls were handed to the connection: Redis may have run them. */
  sent: boolean
  /** Redis answered its calls, and it waits only for the WAIT: it is stored. */
  stored: boolean
  expired: boolean
}

const PUBLISH_OPTION_FIELDS: ReadonlySet<string> = new Set(['idempotencyKey'])
const WAIT_FIELDS: ReadonlySet<string> = new Set(['replicas', 'timeoutMs'])
const PUBLISHER_OPTION_FIELDS: ReadonlySet<string> = new Set([
  'redis',
  'historyMaxLen',
  'historyTtlSeconds',
  'idempotencyTtlSeconds',
  'timeoutMs',
  'waitForReplicas',
  'maxDataBytes',
])

/** How long close() waits for Redis to answer its QUIT before dropping the connection. */
const CLOSE_QUIT_MS = 1_000
/** How long a publish waits for Redis by default. */
const DEFAULT_TIMEOUT_MS = 5_000
/** Failed connection attempts a publish waits through on the publisher's own connection: one retry. */
const CONNECT_FAILURES = 2

export class HeraldPublisher {
  readonly #redis: RedisClient
  readonly #ownsConnection: boolean
  readonly #limits: readonly [number, number, number]
  readonly #timeoutMs: number
  readonly #maxDataBytes: number
  readonly #replicaWait: ReplicaWait | undefined
  /** Publishes not settled yet, which close() lets finish. */
  readonly #inFlight = new Set<Promise<unknown>>()
  /** Called when the connection closes, by each publish that has sent its calls and awaits them. */
  readonly #onConnectionClosed = new Set<() => void>()
  /** The wait for the connection that publishes arriving while it is down share. */
  #connecting: Promise<void> | undefined
  #closing: Promise<void> | undefined

  constructor(options: PublisherOptions) {
    // A Map's entries, or an array's items, are no properties: `redis` would read as missing.
    if (options === null || typeof options !== 'object' || options instanceof Map || Array.isArray(options)) {
      throw new PublishError('HERALD_ERR_INVALID', `options must be an object ({ redis, ... }), not ${kindOf(options)}`)
    }
    refuseUnknownFields(options, PUBLISHER_OPTION_FIELDS, 'publisher options', [...PUBLISHER_OPTION_FIELDS].join(', '))
    const problem = optionsProblem(options)
    if (problem !== undefined) throw new PublishError('HERALD_ERR_INVALID', problem)
    if (options.waitForReplicas)
      refuseUnknownFields(options.waitForReplicas, WAIT_FIELDS, 'waitForReplicas', 'replicas and timeoutMs')
    const clientProblem = typeof options.redis === 'string' ? undefined : redisClientProblem(options.redis)
    if (clientProblem !== undefined) throw new PublishError('HERALD_ERR_INVALID', clientProblem)
    if (typeof options.redis === 'string') {
      const target = parseRedisTarget(options.redis)
      if (typeof target === 'string') throw new PublishError('HERALD_ERR_INVALID', `redis URL ${target}`)
      this.#redis = createRedisClient(target, PUBLISHING_CLIENT_OPTIONS)
      // Connection errors reach callers through their publishes; no unhandled 'error' events.
      this.#redis.on('error', () => {})
      this.#ownsConnection = true
    } else {
      this.#redis = options.redis
      this.#ownsConnection = false
    }
    // A standalone or Sentinel connection that drops fails what it had sent at once: ioredis
    // neither resends nor rejects it, and the deadline would keep the caller waiting. (A Cluster
    // node's connection ends instead, and ioredis rejects what it had sent: retryDelayOnFailover 0.)
    if (!this.#redis.isCluster) this.#redis.on('close', this.#connectionClosed)
    this.#limits = [
      options.historyMaxLen ?? 1000,
      options.historyTtlSeconds ?? DEFAULT_HISTORY_TTL_SECONDS,
      options.idempotencyTtlSeconds ?? 86_400,
    ]
    const wait = options.waitForReplicas
    this.#replicaWait = wait ? new ReplicaWait(this.#redis, wait.replicas, wait.timeoutMs) : undefined
    this.#timeoutMs = Math.min(MAX_TIMER_MS, (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + (wait?.timeoutMs ?? 0))
    this.#maxDataBytes = options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES
  }

  /** Publishes one message; resolves to its entry id. `type` and `options` may be null for none. */
  async publish(
    target: Target,
    type: string | null | undefined,
    data: unknown,
    options: { idempotencyKey?: string | null | undefined } | null = {},
  ): Promise<string> {
    // A Map's entries are no properties: its idempotencyKey would be dropped without a word.
    if (options !== null && (typeof options !== 'object' || options instanceof Map || Array.isArray(options))) {
      throw new PublishError(
        'HERALD_ERR_INVALID',
        `options must be an object ({ idempotencyKey }), not ${kindOf(options)}`,
      )
    }
    if (options !== null) refuseUnknownFields(options, PUBLISH_OPTION_FIELDS, 'publish options', 'idempotencyKey')
    const message = { target, type, data, idempotencyKey: options?.idempotencyKey }
    const [id] = await this.publishEncoded([encodeMessage(message, this.#maxDataBytes)])
    return id!
  }

  /** Publishes many messages, pipelined; resolves to their ids in order. */
  async publishBatch(messages: readonly Message[]): Promise<string[]> {
    if (!Array.isArray(messages)) {
      throw new PublishError(
        'HERALD_ERR_INVALID',
        `messages must be an array of messages ({ target, type, data, idempotencyKey }), not ${kindOf(messages)}`,
      )
    }
    const limit = this.#maxDataBytes
    // Array.from, not map: map skips the holes of a sparse array, which would publish nothing there.
    return this.publishEncoded(
      Array.from(messages, (message, index) => {
        try {
          return encodeMessage(message, limit)
        } catch (error) {
          // Name the message, as the gateway does, so a batch's caller can find it.
          if (error instanceof PublishError) throw new PublishError(error.code, `messages[${index}]: ${error.message}`)
          throw error
        }
      }),
    )
  }

  /**
   * Publishes messages that are already validated and encoded, as `encodeMessage` in
   * `@herald/publisher/internal` makes them; nothing here checks them again.
   * @internal For the gateway, which encodes each message as it reads the request; apps call
   * `publish` or `publishBatch`.
   */
  publishEncoded(messages: readonly EncodedMessage[]): Promise<string[]> {
    if (this.#closing !== undefined) {
      return Promise.reject(new PublishError('HERALD_ERR_CLOSED', 'the publisher is closed; nothing was sent'))
    }
    if (messages.length === 0) return Promise.resolve([])
    const publish = this.#withDeadline(messages)
    this.#inFlight.add(publish)
    const forget = () => this.#inFlight.delete(publish)
    publish.then(forget, forget)
    return publish
  }

  /**
   * Waits for publishes in flight to settle (each within its timeout), then closes the
   * connection if the publisher opened it, dropping it if Redis does not answer QUIT within a
   * second. Publishes after this fail with HERALD_ERR_CLOSED.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    await Promise.allSettled(this.#inFlight)
    this.#redis.off('close', this.#connectionClosed)
    // Nothing is in flight any more: a Redis that does not answer QUIT at once is not worth a
    // publish's whole timeout on top (a stopped one never answers).
    if (this.#ownsConnection) await quitWithin(this.#redis, Math.min(this.#timeoutMs, CLOSE_QUIT_MS))
  }

  readonly #connectionClosed = (): void => {
    for (const failSent of this.#onConnectionClosed) failSent()
  }

  /**
   * The publish, failed with HERALD_ERR_REDIS if it takes longer than the timeout, or if the
   * connection closes after it was sent (no answer can come: ioredis does not resend it).
   */
  async #withDeadline(messages: readonly EncodedMessage[]): Promise<string[]> {
    const progress: PublishProgress = {
      sent: false,
      stored: false,
      expired: false,
      timeoutMs: this.#timeoutMs,
      deadlineAt: performance.now() + this.#timeoutMs,
      refusedByMigration: false,
    }
    let failSent = () => {}
    const lost = new Promise<'lost'>((resolve) => {
      failSent = () => {
        if (progress.sent) resolve('lost')
      }
    })
    this.#onConnectionClosed.add(failSent)
    let published: { ids: string[] } | 'lost' | undefined
    try {
      published = await settledWithin(
        Promise.race([this.#publish(messages, progress).then((ids) => ({ ids })), lost]),
        this.#timeoutMs,
      )
    } catch (error) {
      // Told now: a call of the publish that a migration holds back must not be sent after this.
      progress.expired = true
      throw error
    } finally {
      this.#onConnectionClosed.delete(failSent)
    }
    if (published !== undefined && published !== 'lost') return published.ids
    progress.expired = true
    // Redis answered the calls, and only their WAIT is unanswered: stored, its replication unconfirmed.
    if (progress.stored) {
      throw new PublishError(
        'HERALD_ERR_NOT_REPLICATED',
        published === 'lost'
          ? 'published, but the connection to Redis closed before it confirmed the replication'
          : `published, but Redis did not confirm its replication within ${this.#timeoutMs} ms`,
        { timedOut: published === undefined },
      )
    }
    if (published === 'lost') {
      throw new PublishError('HERALD_ERR_REDIS', `the connection to Redis closed before it answered; ${MAY_BE_APPLIED}`)
    }
    // Redis did answer, with refusals: "did not answer" would send the caller looking for a Redis that is down.
    if (progress.refusedByMigration) {
      throw new PublishError(
        'HERALD_ERR_REDIS',
        `${REFUSED_WHILE_MIGRATING}, and an attempt was still unanswered at its ${this.#timeoutMs} ms deadline; ${MAY_BE_APPLIED}`,
        { timedOut: true },
      )
    }
    throw new PublishError(
      'HERALD_ERR_REDIS',
      progress.sent
        ? `Redis did not answer within ${this.#timeoutMs} ms; ${MAY_BE_APPLIED}`
        : `Redis was not reachable within ${this.#timeoutMs} ms; nothing was sent`,
      { timedOut: true },
    )
  }

  async #publish(messages: readonly EncodedMessage[], progress: PublishProgress) {
    let ids: string[]
    try {
      // A client the caller gave is waited for too: made with PUBLISHING_CLIENT_OPTIONS, it has
      // no offline queue, so a publish sent while it still connects would fail at once.
      if (this.#redis.status !== 'ready') await this.#connected()
      // Its caller has been told it failed: sending it now would publish behind their back.
      if (progress.expired) return []
      progress.sent = true
      const cluster = 'nodes' in this.#redis
      // The common case, one call's worth on one node, skips the regrouping.
      ids =
        !cluster && messages.length <= MAX_MESSAGES_PER_CALL
          ? await this.#publishBatch(messages)
          : await this.#publishInBatches(messages, cluster, progress)
    } catch (error) {
      throw publishFailure(error, undefined, progress.sent)
    }
    const wait = this.#replicaWait
    if (wait !== undefined) {
      progress.stored = true
      const slots = 'nodes' in this.#redis ? messages.map((message) => channelSlot(message.channelKey)) : []
      const acknowledged = await wait.acknowledged(slots).catch((error: unknown) => {
        // The calls were answered: the publish is stored and announced, only its replication is
        // unconfirmed (a WAIT refused, or sent to a master a failover has just demoted).
        const message = redisErrorMessage(error)
        throw new PublishError(
          'HERALD_ERR_NOT_REPLICATED',
          `published, but Redis could not confirm its replication: ${message}`,
          { cause: redisCause(error) },
        )
      })
      if (acknowledged < wait.replicas) {
        throw new PublishError(
          'HERALD_ERR_NOT_REPLICATED',
          `${acknowledged} of ${wait.replicas} replicas acknowledged within ${wait.timeoutMs} ms`,
        )
      }
    }
    return ids
  }

  /** Resolves once the connection, not ready now, is ready; publishes arriving meanwhile share the wait. */
  #connected(): Promise<void> {
    // A client made with lazyConnect connects on its first command, which without an offline
    // queue fails instead: start it.
    if (this.#redis.status === 'wait') this.#redis.connect().catch(() => {})
    this.#connecting ??= whenConnected(this.#redis, CONNECT_FAILURES).finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async #publishInBatches(
    messages: readonly EncodedMessage[],
    cluster: boolean,
    progress: PublishProgress,
  ): Promise<string[]> {
    const ids: string[] = new Array(messages.length)
    // Calls sent so far: when one fails, any other may have been applied.
    let callsSent = 0
    await Promise.all(
      callChainsOf(messages, cluster).map(async (chain) => {
        for (const batch of chain) {
          let batchIds: string[]
          callsSent++
          try {
            batchIds = await sendThroughMigration(
              () => this.#publishBatch(batch.map((index) => messages[index]!)),
              progress,
            )
          } catch (error) {
            throw publishFailure(error, batch, true, callsSent > 1)
          }
          batch.forEach((index, i) => {
            ids[index] = batchIds[i]!
          })
        }
      }),
    )
    return ids
  }

  /** One `herald_publish_batch` call: what it costs ioredis and Redis is per call far more than per message. */
  async #publishBatch(messages: readonly EncodedMessage[]): Promise<string[]> {
    const keys: string[] = []
    const args: Array<string | number> = [...this.#limits]
    for (const message of messages) {
      keys.push(streamKey(message.channelKey))
      if (message.idempotencyKey !== undefined) keys.push(idempotencyKey(message.channelKey, message.idempotencyKey))
      args.push(message.idempotencyKey === undefined ? 0 : 1, message.type ?? '', message.data)
    }
    // Redis answers with an array of bulk strings, which ioredis hands over as strings.
    return (await callHeraldFunction(this.#redis, false, 'herald_publish_batch', keys, args)) as string[]
  }
}

/**
 * The publishing connection's options. No offline queue: a publish is sent on a ready connection
 * or not at all, so one that failed while Redis was away is never applied later behind the
 * caller's back. Nor resent after a reconnect: Redis may have run it before the connection
 * dropped. And no auto-pipelining: with resending off, ioredis 6 never settles an auto-pipeline
 * that a dropped connection cut short, and holds every later command of that connection behind
 * it. A batch is one call whatever this says; concurrent single publishes cost Redis more
 * without it (10.4–12.8 against 14.8–19.4 µs each, 40,000 publishes 200 at a time).
 */
export const PUBLISHING_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  enableAutoPipelining: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 1,
} as const

/** Messages per `herald_publish_batch` call: long enough to share its cost, short enough not to hold Redis up (~1 ms). */
const MAX_MESSAGES_PER_CALL = 100

/**
 * The calls a publish takes, as indexes into `messages`, each in publishing order, in chains:
 * a chain's calls go one after another, the chains at once. In a cluster a call's keys must
 * share a slot, so each channel gets calls of its own (a channel's stream and idempotency keys
 * share its hash tag), in one chain: sent together, a call that a slot migration refused
 * (TRYAGAIN, sent again later) was overtaken by the next, which the migration's ASK let through,
 * and the channel stored messages 100 to 149 of a batch before 0 to 99 (the review of
 * 2026-12-07). Elsewhere messages simply go in order, every call a chain of its own: one
 * connection runs them in the order sent.
 */
export function callChainsOf(messages: readonly EncodedMessage[], cluster: boolean): number[][][] {
  const groups = new Map<string, number[]>()
  messages.forEach((message, index) => {
    const group = cluster ? message.channelKey : ''
    const indexes = groups.get(group) ?? []
    groups.set(group, indexes)
    indexes.push(index)
  })
  const chains: number[][][] = []
  for (const indexes of groups.values()) {
    const calls: number[][] = []
    for (let start = 0; start < indexes.length; start += MAX_MESSAGES_PER_CALL)
      calls.push(indexes.slice(start, start + MAX_MESSAGES_PER_CALL))
    if (cluster) chains.push(calls)
    else for (const call of calls) chains.push([call])
  }
  return chains
}
