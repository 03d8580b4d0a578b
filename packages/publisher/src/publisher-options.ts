/**
 * Checking the publisher's options up front: Redis would refuse a negative, fractional
 * or out-of-range `WAIT` argument only at the first publish, with its own words, a timer
 * past 2^31 - 1 ms fires at once, and a `NaN` data limit would refuse nothing.
 */

import { kindOf } from './describe-value.js'
import { MAX_FUNCTION_LIMIT } from './herald-functions.js'

/** The longest delay a Node timer can hold. */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * The largest JSON data a publish takes by default, in bytes of UTF-8: the gateway's default
 * `PUBLISH_MAX_BODY_BYTES`. Every entry is kept in the history and replayed to resuming clients.
 */
export const DEFAULT_MAX_DATA_BYTES = 262_144

/** The highest `maxDataBytes`: 512 MiB, Redis's largest string (`proto-max-bulk-len`). */
export const MAX_DATA_BYTES_LIMIT = 536_870_912

/**
 * The ranges of the gateway's HISTORY_MAX_LEN, HISTORY_TTL_SECONDS and IDEMPOTENCY_TTL_SECONDS,
 * which the CLI reads as the gateways do. The SDK's own options take what the Redis functions
 * take (from 1): they must match the gateways' settings, which no range can check.
 */
/** The gateways' HISTORY_TTL_SECONDS default: a week. */
export const DEFAULT_HISTORY_TTL_SECONDS = 604_800

export const HISTORY_SETTING_RANGES = {
  historyMaxLen: { min: 1, max: 1_000_000 },
  historyTtlSeconds: { min: 60, max: MAX_FUNCTION_LIMIT },
  idempotencyTtlSeconds: { min: 1, max: MAX_FUNCTION_LIMIT },
} as const

export interface CheckedOptions {
  readonly historyMaxLen?: number | undefined
  readonly historyTtlSeconds?: number | undefined
  readonly idempotencyTtlSeconds?: number | undefined
  readonly timeoutMs?: number | undefined
  readonly waitForReplicas?: { readonly replicas: number; readonly timeoutMs: number } | null | undefined
  readonly maxDataBytes?: number | undefined
}

/** What is wrong with the options, or undefined. */
export function optionsProblem(options: CheckedOptions): string | undefined {
  if (options.maxDataBytes !== undefined && !isWhole(options.maxDataBytes, 1, MAX_DATA_BYTES_LIMIT)) {
    return `maxDataBytes must be a whole number of bytes from 1 to ${MAX_DATA_BYTES_LIMIT}`
  }
  // Redis's functions would take 0 and 1.5 as the default, without a word.
  for (const name of ['historyMaxLen', 'historyTtlSeconds', 'idempotencyTtlSeconds'] as const) {
    const value = options[name]
    if (value !== undefined && !isWhole(value, 1, MAX_FUNCTION_LIMIT)) {
      return `${name} must be a whole number from 1 to ${MAX_FUNCTION_LIMIT}`
    }
  }
  if (options.timeoutMs !== undefined && !isWhole(options.timeoutMs, 1, MAX_TIMER_MS)) {
    return `timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`
  }
  const wait = options.waitForReplicas
  // null, from JavaScript callers, means not waiting, as leaving it out does.
  if (wait === undefined || wait === null) return undefined
  if (!isWhole(wait.replicas, 1, Number.MAX_SAFE_INTEGER)) {
    return 'waitForReplicas.replicas must be a whole number from 1 (leave waitForReplicas out not to wait)'
  }
  // WAIT's own 0, "block for ever", would hold the publish and the connection with it.
  if (!isWhole(wait.timeoutMs, 1, MAX_TIMER_MS)) {
    return `waitForReplicas.timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`
  }
  return undefined
}

function isWhole(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
}

/**
 * Why `redis` is not a client the publisher can use, if it is not. A client that resends what
 * was in flight when its connection dropped (ioredis's default) would run a publish twice.
 */
export function redisClientProblem(redis: unknown): string | undefined {
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
