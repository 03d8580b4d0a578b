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

import { setTimeout as delay } from 'node:timers/promises'
import {
  eventTypeProblem,
  isValidIdempotencyKey,
  isValidTopic,
  isValidUserId,
  topicChannelKey,
  userChannelKey,
} from '@herald/protocol'
import { whenConnected } from './connection-ready.js'
import { kindOf, messageOf } from './describe-value.js'
import { callHeraldFunction, FunctionsLoadError, type RedisClient } from './functions.js'
import { dataProblem, MAX_DATA_DEPTH, nestsDeeperThan } from './json-data.js'
import { channelSlot, idempotencyKey, streamKey } from './keys.js'
import { PublishError, redisCause, redisErrorMessage } from './publish-error.js'
import {
  DEFAULT_HISTORY_TTL_SECONDS,
  DEFAULT_MAX_DATA_BYTES,
  MAX_TIMER_MS,
  optionsProblem,
} from './publisher-options.js'
import { JsonText } from './raw-json.js'
import { createRedisClient, parseRedisTarget } from './redis-target.js'
import { ReplicaWait } from './replica-wait.js'
import { quitWithin, settledWithin } from './settled-within.js'

export type Target = { readonly user: string } | { readonly topic: string }

export interface Message {
  readonly target: Target
  /** No type: leave it out, or null. */
  readonly type?: string | null | undefined
  /** Any JSON-serialisable value, nested at most 32 levels, at most `maxDataBytes` as JSON. */
  readonly data: unknown
  /**
   * Publishing the same key to the same target again returns the first id and appends nothing.
   * No key: leave it out, or null.
   */
  readonly idempotencyKey?: string | null | undefined
}

/** A message already validated and encoded: what the gateway's broker passes. */
export interface EncodedMessage {
  readonly channelKey: string
  readonly type: string | undefined
  /** JSON text. */
  readonly data: string
  readonly idempotencyKey: string | undefined
}

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
interface PublishProgress {
  /** Its calls were handed to the connection: Redis may have run them. */
  sent: boolean
  /** Redis answered its calls, and it waits only for the WAIT: it is stored. */
  stored: boolean
  /** Its caller has been told it failed. */
  expired: boolean
}

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
    if (options === null || typeof options !== 'object') {
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
    if (options !== null && typeof options !== 'object') {
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

  /** Publishes messages that are already validated and encoded. */
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
   * connection if the publisher opened it. Publishes after this fail with HERALD_ERR_CLOSED.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    await Promise.allSettled(this.#inFlight)
    this.#redis.off('close', this.#connectionClosed)
    if (this.#ownsConnection) await quitWithin(this.#redis, this.#timeoutMs)
  }

  readonly #connectionClosed = (): void => {
    for (const failSent of this.#onConnectionClosed) failSent()
  }

  /**
   * The publish, failed with HERALD_ERR_REDIS if it takes longer than the timeout, or if the
   * connection closes after it was sent (no answer can come: ioredis does not resend it).
   */
  async #withDeadline(messages: readonly EncodedMessage[]): Promise<string[]> {
    const progress: PublishProgress = { sent: false, stored: false, expired: false }
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
    progress: { readonly expired: boolean },
  ): Promise<string[]> {
    const ids: string[] = new Array(messages.length)
    await Promise.all(
      batchesOf(messages, cluster).map(async (batch) => {
        let batchIds: string[]
        try {
          batchIds = await this.#publishThroughMigration(
            batch.map((index) => messages[index]!),
            progress,
          )
        } catch (error) {
          throw publishFailure(error, batch)
        }
        batch.forEach((index, i) => {
          ids[index] = batchIds[i]!
        })
      }),
    )
    return ids
  }

  /**
   * One batch, sent again while a Cluster slot migration refuses it. During the move, a call that
   * touches a key neither master holds yet (an idempotency key, a new stream) is redirected (ASK)
   * by one and refused (TRYAGAIN) by the other, and neither runs any of it, so sending it again
   * cannot publish twice. ioredis itself gives up after 16 redirections; a slot with many keys can
   * take longer to move, so this goes on, backing off, until the publish's deadline.
   */
  async #publishThroughMigration(
    messages: readonly EncodedMessage[],
    progress: { readonly expired: boolean },
  ): Promise<string[]> {
    for (let pauseMs = MIGRATION_FIRST_PAUSE_MS; ; pauseMs = Math.min(2 * pauseMs, MIGRATION_MAX_PAUSE_MS)) {
      try {
        return await this.#publishBatch(messages)
      } catch (error) {
        if (!(error instanceof Error && REFUSED_BY_MIGRATION.test(error.message)) || progress.expired) throw error
      }
      await delay(pauseMs)
    }
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
 * How Herald's functions refuse a message (docs/redis-contract.md): the caller's fault, not
 * Redis's, and the refusing call appended nothing. `message <n>` counts from 1 within the call.
 */
const FUNCTION_REFUSAL = /^(HERALD_ERR_(?:KEY|TYPE|DATA|ARGS)) (?:message (\d+): )?/

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

/** What a caller is told of a publish Redis may have run: a retry is safe only with its idempotencyKey. */
const MAY_BE_APPLIED =
  'the publish may have been applied, whole or in part, so retry it with the same idempotencyKey (one per message)'

/** Redis's ACL refusing the FCALL itself: no function ran. */
const FCALL_REFUSED = /^NOPERM .*'fcall' command/i

/** ioredis's refusals of a command it never wrote: there was no connection to write it to. */
const NOT_WRITTEN = /^(?:Stream isn't writeable|Cluster isn't ready)/

/**
 * A failed publish as a PublishError: a refusal by the functions is HERALD_ERR_INVALID, naming
 * the message by its index in the publish (`indexes` maps a call's messages to those), and
 * anything else is HERALD_ERR_REDIS, saying whether the publish may have been applied: a
 * function that fails past its checks (a key of the wrong type) keeps what it appended, and a
 * publish split over several calls keeps the calls that succeeded.
 */
function publishFailure(error: unknown, indexes?: readonly number[], sent = true): PublishError {
  if (error instanceof PublishError) return error
  const message = redisErrorMessage(error)
  const refusal = FUNCTION_REFUSAL.exec(message)
  // The Redis user's grants, not the message: the functions check them before writing anything,
  // and a user that may not FCALL at all runs none of them.
  if (message.startsWith('HERALD_ERR_NOPERM ') || FCALL_REFUSED.test(message)) {
    return new PublishError(
      'HERALD_ERR_REDIS',
      `Redis refused the publish (${message}); the call it refused wrote nothing`,
      {
        cause: redisCause(error),
      },
    )
  }
  if (error instanceof FunctionsLoadError) {
    return new PublishError('HERALD_ERR_REDIS', `${message}; the call that needed them wrote nothing`, {
      cause: error.cause,
    })
  }
  if (refusal === null) {
    const written = sent && !NOT_WRITTEN.test(message)
    return new PublishError(
      'HERALD_ERR_REDIS',
      written
        ? `Redis failed the publish (${message}); ${MAY_BE_APPLIED}`
        : `Redis was not connected (${message}); nothing was sent`,
      { cause: redisCause(error) },
    )
  }
  const n = refusal[2] === undefined ? undefined : Number(refusal[2]) - 1
  const at = n === undefined ? '' : `messages[${indexes?.[n] ?? n}]: `
  return new PublishError(
    'HERALD_ERR_INVALID',
    `${at}Redis refused the message (${refusal[1]}): ${message.slice(refusal[0].length)}`,
    { cause: redisCause(error) },
  )
}

/** Messages per `herald_publish_batch` call: long enough to share its cost, short enough not to hold Redis up (~1 ms). */
const MAX_MESSAGES_PER_CALL = 100

/** A refusal that ran nothing: TRYAGAIN, or ioredis out of redirections (each one a refusal). */
const REFUSED_BY_MIGRATION = /\bTRYAGAIN\b|^Too many Cluster redirections/

/** The pauses between attempts of a batch a slot migration refuses: doubling, capped. */
const MIGRATION_FIRST_PAUSE_MS = 50
const MIGRATION_MAX_PAUSE_MS = 400

/**
 * The calls a publish takes, as indexes into `messages`, each in publishing order. In a
 * cluster a call's keys must share a slot, so each channel gets calls of its own (a channel's
 * stream and idempotency keys share its hash tag); elsewhere messages simply go in order.
 */
export function batchesOf(messages: readonly EncodedMessage[], cluster: boolean): number[][] {
  const groups = new Map<string, number[]>()
  messages.forEach((message, index) => {
    const group = cluster ? message.channelKey : ''
    const indexes = groups.get(group) ?? []
    groups.set(group, indexes)
    indexes.push(index)
  })
  const batches: number[][] = []
  for (const indexes of groups.values())
    for (let start = 0; start < indexes.length; start += MAX_MESSAGES_PER_CALL)
      batches.push(indexes.slice(start, start + MAX_MESSAGES_PER_CALL))
  return batches
}

/**
 * Validates a message against Herald's rules and encodes it; throws `HERALD_ERR_INVALID`, or
 * `HERALD_ERR_DATA_TOO_LARGE` for data over `maxDataBytes` bytes of UTF-8 JSON (default 262144).
 * A null type or idempotency key is none, as leaving it out is.
 */
export function encodeMessage(message: Message, maxDataBytes: number = DEFAULT_MAX_DATA_BYTES): EncodedMessage {
  if (message === null || typeof message !== 'object') {
    throw new PublishError(
      'HERALD_ERR_INVALID',
      `a message must be an object ({ target, type, data, idempotencyKey }), not ${kindOf(message)}`,
    )
  }
  refuseUnknownFields(message, MESSAGE_FIELDS, 'a message', 'target, type, data and idempotencyKey')
  const { data } = message
  const channelKey = channelKeyOf(message.target)
  const type = message.type ?? undefined
  if (type !== undefined) {
    if (typeof type !== 'string') {
      throw new PublishError(
        'HERALD_ERR_INVALID',
        `type must be a string (or undefined or null for none), not ${kindOf(type)}`,
      )
    }
    const problem = eventTypeProblem(type)
    if (problem !== undefined) throw new PublishError('HERALD_ERR_INVALID', problem)
  }
  const key = message.idempotencyKey ?? undefined
  if (key !== undefined && (typeof key !== 'string' || !isValidIdempotencyKey(key))) {
    throw new PublishError(
      'HERALD_ERR_INVALID',
      'idempotencyKey must be 1 to 200 characters (code points) without control characters or unpaired UTF-16 surrogates',
    )
  }
  // Checked when it was made.
  const checked = data instanceof JsonText
  let encoded: string | undefined
  try {
    encoded = checked ? data.text : JSON.stringify(data)
  } catch (error) {
    // A cycle or a BigInt: the caller's data, not a failure to publish.
    throw new PublishError('HERALD_ERR_INVALID', `data must be JSON-serialisable: ${messageOf(error)}`)
  }
  if (encoded === undefined) throw new PublishError('HERALD_ERR_INVALID', 'data must be JSON-serialisable')
  // Every character is 1 to 3 bytes of UTF-8 (a surrogate pair, 2 characters, is 4), so only
  // text between the two bounds needs counting.
  if (
    encoded.length > maxDataBytes ||
    (encoded.length * 3 > maxDataBytes && Buffer.byteLength(encoded) > maxDataBytes)
  ) {
    throw new PublishError(
      'HERALD_ERR_DATA_TOO_LARGE',
      `data is larger than ${maxDataBytes} bytes (${Buffer.byteLength(encoded)} bytes of JSON); publish less, or raise maxDataBytes`,
    )
  }
  if (checked) return { channelKey, type, data: encoded, idempotencyKey: key }
  // The gateway's HTTP publish refuses deeper data, with the same words.
  if (nestsDeeperThan(encoded, MAX_DATA_DEPTH)) {
    throw new PublishError('HERALD_ERR_INVALID', `data must not nest deeper than ${MAX_DATA_DEPTH} levels`)
  }
  let dataIssue: string | undefined
  try {
    dataIssue = dataProblem(data, encoded)
  } catch (error) {
    // The check reads the data again: a getter or toJSON that throws only now.
    throw new PublishError('HERALD_ERR_INVALID', `data must be JSON-serialisable: ${messageOf(error)}`)
  }
  if (dataIssue !== undefined) throw new PublishError('HERALD_ERR_INVALID', `data ${dataIssue}`)
  return { channelKey, type, data: encoded, idempotencyKey: key }
}

const MESSAGE_FIELDS: ReadonlySet<string> = new Set(['target', 'type', 'data', 'idempotencyKey'])
const TARGET_FIELDS: ReadonlySet<string> = new Set(['user', 'topic'])
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

/**
 * Refuses a field the SDK does not know, as the gateway's HTTP publish does: ignored, a
 * misspelt one (`idempotencykey`) would turn idempotency off without a word, and a retry
 * would publish twice. A loop over the keys rather than `Object.keys`: no array per message.
 */
function refuseUnknownFields(object: object, known: ReadonlySet<string>, what: string, expected: string): void {
  for (const field in object) {
    if (!known.has(field)) {
      throw new PublishError(
        'HERALD_ERR_INVALID',
        `${what} has an unknown field ${JSON.stringify(field)} (expected ${expected})`,
      )
    }
  }
}

/** The channel key of a target, which must have exactly one of a valid `user` and a valid `topic`. */
export function channelKeyOf(target: Target): string {
  if (target === null || typeof target !== 'object' || Array.isArray(target)) {
    throw new PublishError(
      'HERALD_ERR_INVALID',
      `target must be { user: string } or { topic: string }, not ${kindOf(target)}`,
    )
  }
  refuseUnknownFields(target, TARGET_FIELDS, 'a target', 'user or topic')
  // As the gateway's HTTP publish: a field that is there but null is there.
  const { user, topic } = target as { user?: unknown; topic?: unknown }
  const hasUser = user !== undefined
  if (hasUser === (topic !== undefined)) {
    throw new PublishError('HERALD_ERR_INVALID', 'target must have exactly one of user and topic')
  }
  const name = hasUser ? user : topic
  // A regular expression would read 42 as "42" and ['alice'] as "alice".
  if (typeof name !== 'string') {
    const field = hasUser ? 'user' : 'topic'
    throw new PublishError('HERALD_ERR_INVALID', `target.${field} must be a string, not ${kindOf(name)}`)
  }
  if (hasUser) {
    if (!isValidUserId(name)) throw new PublishError('HERALD_ERR_INVALID', `invalid user id ${JSON.stringify(name)}`)
    return userChannelKey(name)
  }
  if (!isValidTopic(name)) throw new PublishError('HERALD_ERR_INVALID', `invalid topic ${JSON.stringify(name)}`)
  return topicChannelKey(name)
}

/**
 * Why `redis` is not a client the publisher can use, if it is not. A client that resends what
 * was in flight when its connection dropped (ioredis's default) would run a publish twice.
 */
function redisClientProblem(redis: unknown): string | undefined {
  type ConnectionOptions = {
    autoResendUnfulfilledCommands?: unknown
    enableAutoPipelining?: unknown
    keyPrefix?: unknown
    db?: unknown
  }
  const client = redis as {
    call?: unknown
    on?: unknown
    status?: unknown
    isCluster?: unknown
    options?: ConnectionOptions & { redisOptions?: ConnectionOptions; retryDelayOnFailover?: unknown }
  } | null
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.call !== 'function' ||
    typeof client.on !== 'function' ||
    typeof client.status !== 'string'
  )
    return `redis must be a Redis URL string or an ioredis client, not ${kindOf(redis)}`
  // What the Redis URL parser refuses too: Herald's keys are whole names in database 0, where
  // the gateways read them (Pub/Sub spans databases, history does not).
  const { options } = client
  const prefixed = [options?.keyPrefix, options?.redisOptions?.keyPrefix].some(
    (prefix) => prefix !== undefined && prefix !== '',
  )
  const database = options?.redisOptions?.db ?? options?.db
  if (prefixed || (database !== undefined && database !== 0))
    return "an ioredis client must use database 0 without a keyPrefix: the gateways read Herald's keys there, by their own names"
  const resends =
    'by default ioredis sends a publish in flight again after a reconnect, though Redis may have run it already'
  if (client.isCluster === true) {
    if (
      options?.redisOptions?.autoResendUnfulfilledCommands !== false ||
      options.enableAutoPipelining === true ||
      options.retryDelayOnFailover !== 0
    )
      return (
        'an ioredis Cluster must be created with retryDelayOnFailover: 0, without enableAutoPipelining, and with ' +
        `redisOptions: PUBLISHING_CLIENT_OPTIONS: ${resends}`
      )
    return undefined
  }
  if (options?.autoResendUnfulfilledCommands !== false || options?.enableAutoPipelining === true)
    return (
      'an ioredis client must be created with autoResendUnfulfilledCommands: false and without ' +
      `enableAutoPipelining (PUBLISHING_CLIENT_OPTIONS has both): ${resends}`
    )
  return undefined
}
