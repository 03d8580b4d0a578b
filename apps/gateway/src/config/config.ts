/**
 * Configuration: read once at startup from the environment (and `--dev`),
 * validated, and frozen into a typed object. Everything invalid is reported
 * together, each problem naming its variable; nothing is read again later.
 */

import { randomBytes } from 'node:crypto'
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import { getHeapStatistics } from 'node:v8'
import { HISTORY_SETTING_RANGES, parseRedisTarget, type RedisTarget, redisPassword } from '@herald/publisher/internal'
import type { ConfigError } from '../errors/herald-error.js'
import { createEnvReader, quoted } from './env-reader.js'
import { type MisspeltVariable, misspeltVariables } from './misspelt-variables.js'
import { connectionBudgetFromFileLimit, readOpenFileLimit } from './open-file-limit.js'
import { reusePortUnsupported } from './reuse-port.js'
import { parseVerificationKey, type VerificationKeyConfig } from './verification-key.js'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface GatewayConfig {
  readonly dev: boolean
  readonly port: number
  readonly host: string
  /** Listening sockets sharing PORT through SO_REUSEPORT, each with its own accept queue. */
  readonly listenSockets: number
  /** `--dev` on a HOST that is not loopback, allowed by DEV_ALLOW_REMOTE=true. */
  readonly devAllowRemote: boolean
  /** `undefined` runs the embedded in-memory broker (a single node). */
  readonly redis: RedisTarget | undefined
  readonly jwt: {
    readonly key: VerificationKeyConfig
    readonly issuer: string | undefined
    readonly audience: string | undefined
    /** Minimum time between JWKS refetches triggered by unknown `kid`s. */
    readonly jwksCooldownMs: number
    /** Leeway for `exp` and `nbf` against this node's clock, for issuers whose clocks drift. */
    readonly clockToleranceSeconds: number
  }
  /** The process's open-file limit, when it has one: each stream holds a descriptor. */
  readonly openFileLimit: number | undefined
  /** Any of these authorises a publish; two at once allow rotation. */
  readonly publishApiKeys: readonly string[]
  /** What the logger censors by value wherever it appears: the publish keys, the JWT secret and the Redis password. */
  readonly secrets: readonly string[]
  readonly maxConnections: number
  readonly maxConnectionsPerUser: number
  readonly maxTopicsPerConnection: number
  readonly heartbeatIntervalMs: number
  readonly retryMs: number
  readonly historyMaxLen: number
  readonly historyTtlSeconds: number
  readonly idempotencyTtlSeconds: number
  readonly maxPendingBytes: number
  /** What all of the node's streams may hold unsent together; past it, the largest holders are cut. */
  readonly maxUnsentBytes: number
  readonly publishMaxBodyBytes: number
  readonly tokenExpiryJitterMs: number
  /** New streams per second, refilled continuously, and how many may come at once. */
  readonly connectionRatePerSecond: number
  readonly connectionRateBurst: number
  /** On SIGTERM, streams are closed spread over this window. */
  readonly drainWindowMs: number
  /** With Redis: a publish is answered once this many replicas have it, within the timeout. */
  readonly publishWaitForReplicas: { readonly replicas: number; readonly timeoutMs: number } | undefined
  /** How often the Redis broker proves Pub/Sub delivery with a message to itself. */
  readonly pubsubProbeIntervalMs: number
  /** Exact origins (scheme://host[:port]) allowed to read responses cross-origin, with credentials. */
  readonly corsAllowedOrigins: ReadonlySet<string>
  readonly logLevel: LogLevel
  /** Secrets generated for `--dev`, to print once at startup. */
  readonly generated: { readonly jwtSecret?: string; readonly publishApiKey?: string }
  /** Variables that look like a misspelling of one read here: logged as warnings at startup. */
  readonly misspelt: readonly MisspeltVariable[]
}

export type Environment = Readonly<Record<string, string | undefined>>

export interface ConfigSources {
  readonly env: Environment
  readonly argv: readonly string[]
  /** Injected so tests do not depend on the machine's limits. */
  readonly openFileLimit?: number | undefined
  /** Injected so tests can name a runtime other than the one they run on. */
  readonly runtime?: { readonly nodeVersion: string; readonly platform: string }
  /** V8's heap limit, which MAX_UNSENT_BYTES defaults to a quarter of; injected by tests. */
  readonly heapSizeLimit?: number
}

export class ConfigProblems extends Error {
  override readonly name = 'ConfigProblems'
  readonly code = 'HERALD_ERR_CONFIG'

  constructor(readonly problems: readonly ConfigError[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`)
  }
}

/** A publish key travels in the `Authorization` header, and a request's head must fit in 16 KiB. */
const MAX_PUBLISH_API_KEY_LENGTH = 4096
/** The largest PUBLISH_MAX_BODY_BYTES: 64 MiB. */
const PUBLISH_MAX_BODY_BYTES_LIMIT = 64 * 1024 * 1024

/** Numbers and dots, each number decimal or 0x-hex: an address to the resolver, not a name. */
const NUMERIC_HOST = /^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+))*\.?$/i

/** Parses and validates; throws {@link ConfigProblems} listing every problem found. */
export function loadConfig(sources: ConfigSources): GatewayConfig {
  const unknownFlags = sources.argv.filter((arg) => arg !== '--dev')
  const dev = sources.argv.includes('--dev')
  const read = createEnvReader(sources.env)
  if (unknownFlags.length > 0)
    read.problem('argv', `unknown argument ${unknownFlags.join(' ')} (only --dev is accepted)`)

  const generated: { jwtSecret?: string; publishApiKey?: string } = {}
  const keyVariables = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'].filter(
    (name) => read.string(name) !== undefined,
  )
  let jwtSecret = read.string('JWT_SECRET')
  if (dev && keyVariables.length === 0) {
    jwtSecret = randomBytes(32).toString('base64url')
    generated.jwtSecret = jwtSecret
  }
  let key: VerificationKeyConfig | undefined
  if (keyVariables.length > 1) {
    read.problem(keyVariables.join(', '), 'set exactly one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL')
  } else if (jwtSecret === undefined && keyVariables.length === 0) {
    read.problem('JWT_SECRET', 'required: set one of JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL (or start with --dev)')
  } else {
    key = parseVerificationKey(
      {
        secret: jwtSecret,
        publicKey: read.string('JWT_PUBLIC_KEY'),
        jwksUrl: read.string('JWT_JWKS_URL'),
      },
      read.problem,
    )
  }
  // Like a replica timeout without replicas: whoever set it meant a key set they do not have.
  if (read.string('JWT_JWKS_COOLDOWN_MS') !== undefined && read.string('JWT_JWKS_URL') === undefined)
    read.problem('JWT_JWKS_COOLDOWN_MS', 'has no effect unless JWT_JWKS_URL is set')

  let publishApiKeys = read.list('PUBLISH_API_KEY')
  if (publishApiKeys.length === 0 && dev) {
    const generatedKey = randomBytes(24).toString('base64url')
    generated.publishApiKey = generatedKey
    publishApiKeys = [generatedKey]
  }
  if (publishApiKeys.length === 0) read.problem('PUBLISH_API_KEY', 'required (or start with --dev)')
  if (publishApiKeys.length > 2) read.problem('PUBLISH_API_KEY', 'at most two keys, comma-separated, for rotation')
  for (const [index, apiKey] of publishApiKeys.entries()) {
    // Which key, never the key itself: the problems are printed.
    const which = publishApiKeys.length === 1 ? 'the key' : `key ${index + 1} of ${publishApiKeys.length}`
    if (apiKey.length < 16) read.problem('PUBLISH_API_KEY', `${which} must be at least 16 characters`)
    // A request's head must fit in 16 KiB (Node's limit): a longer key starts a node whose every
    // publish is answered 431.
    if (apiKey.length > MAX_PUBLISH_API_KEY_LENGTH)
      read.problem('PUBLISH_API_KEY', `${which} must be at most ${MAX_PUBLISH_API_KEY_LENGTH} characters`)
    // Whoever holds the publish key could then sign a token for any user and open their stream:
    // two trust boundaries (docs/security.md) merged by pasting one value into both.
    // Placeholders left in both (CHANGE-ME) are refused as such already.
    if (key?.kind === 'secret' && apiKey === jwtSecret)
      read.problem('PUBLISH_API_KEY', `${which} is the same as JWT_SECRET, so a publisher could sign any user's tokens`)
    // Sent as `Authorization: Bearer <key>`: a space ends it, and a header carries bytes, not UTF-8.
    if (!/^[\x21-\x7e]*$/.test(apiKey))
      read.problem('PUBLISH_API_KEY', `${which} must be printable ASCII without spaces, as an HTTP header carries it`)
  }

  const openFileLimit = sources.openFileLimit ?? readOpenFileLimit()

  const redisUrl = read.string('REDIS_URL')
  const redis = redisUrl === undefined ? undefined : parseRedisTarget(redisUrl)
  if (typeof redis === 'string') read.problem('REDIS_URL', redis)

  const publishWaitReplicas = read.integer('PUBLISH_WAIT_REPLICAS', { default: 0, min: 0, max: 100 })
  const publishWaitTimeoutMs = read.integer('PUBLISH_WAIT_TIMEOUT_MS', { default: 500, min: 1, max: 60_000 })
  if (publishWaitReplicas > 0 && redisUrl === undefined)
    read.problem('PUBLISH_WAIT_REPLICAS', 'needs REDIS_URL: the embedded broker has no replicas')
  // A timeout set alone waits for nothing; whoever set it meant a wait they would not get.
  const replicasRefused = read.problems.some((problem) => problem.variable === 'PUBLISH_WAIT_REPLICAS')
  if (read.string('PUBLISH_WAIT_TIMEOUT_MS') !== undefined && publishWaitReplicas === 0 && !replicasRefused)
    read.problem('PUBLISH_WAIT_TIMEOUT_MS', 'has no effect unless PUBLISH_WAIT_REPLICAS is above 0')

  const corsOrigins = read.list('CORS_ALLOWED_ORIGINS')
  for (const origin of corsOrigins) {
    // Compared with the Origin header as browsers send it: lower-case host, no default port.
    const sent = browserOrigin(origin)
    if (!/^https?:\/\/[^/\s*]+$/.test(origin) || sent !== origin) {
      read.problem(
        'CORS_ALLOWED_ORIGINS',
        `${quoted(origin)} is not an exact origin like https://app.example.com` +
          // Responses are readable with credentials: a wildcard would hand every site the streams.
          (origin.includes('*')
            ? '; wildcards are not accepted: list each origin'
            : sent === undefined
              ? ''
              : `; a browser sends ${sent}`),
      )
    }
  }

  // Dev mode mints tokens for anyone and publishes without a key: it listens on loopback
  // only, unless told explicitly that other machines may reach it.
  const host = read.string('HOST') ?? (dev ? '127.0.0.1' : '0.0.0.0')
  // The resolver reads numbers in an address the way inet_aton does: 127.0.0.021 listened on
  // 127.0.0.17 (a zero-led part is octal), and 127.21 on 127.0.0.21, with no word of it.
  if (NUMERIC_HOST.test(host) && !isIPv4(host))
    read.problem('HOST', `${quoted(host)} is not an IPv4 address in dotted decimal without leading zeros`)
  // Read (and checked) outside dev mode too: a malformed value is a mistake either way.
  const devAllowRemote = read.boolean('DEV_ALLOW_REMOTE', false) && dev
  if (dev && !devAllowRemote && !isLoopback(host)) {
    read.problem(
      'HOST',
      `--dev serves keyless publishing and token minting, so it listens on loopback only; ${host} is not loopback (set DEV_ALLOW_REMOTE=true to listen there anyway)`,
    )
  }

  const listenSockets = read.integer('LISTEN_SOCKETS', { default: 1, min: 1, max: 64 })
  const runtime = sources.runtime ?? { nodeVersion: process.version, platform: process.platform }
  const noReusePort = reusePortUnsupported(runtime.nodeVersion, runtime.platform)
  if (listenSockets > 1 && noReusePort !== undefined) read.problem('LISTEN_SOCKETS', `above 1 ${noReusePort}`)

  const logLevel = (read.string('LOG_LEVEL')?.toLowerCase() ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel))
    read.problem('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got ${quoted(logLevel)}`)

  const config: GatewayConfig = {
    dev,
    port: read.integer('PORT', { default: 8080, min: 0, max: 65_535 }),
    host,
    listenSockets,
    devAllowRemote,
    redis: typeof redis === 'string' ? undefined : redis,
    jwt: {
      key: key ?? { kind: 'secret', secret: new Uint8Array(), algorithms: [] },
      issuer: read.string('JWT_ISSUER'),
      audience: read.string('JWT_AUDIENCE'),
      jwksCooldownMs: read.integer('JWT_JWKS_COOLDOWN_MS', {
        default: 30_000,
        min: 0,
        max: 3_600_000,
      }),
      clockToleranceSeconds: read.integer('JWT_CLOCK_TOLERANCE_SECONDS', { default: 5, min: 0, max: 300 }),
    },
    publishApiKeys,
    secrets: [...publishApiKeys, jwtSecret, censoredRedisPassword(redis)].filter(
      (secret): secret is string => secret !== undefined,
    ),
    openFileLimit,
    maxConnections: read.integer('MAX_CONNECTIONS', {
      default: connectionBudgetFromFileLimit(openFileLimit),
      min: 1,
    }),
    maxConnectionsPerUser: read.integer('MAX_CONNECTIONS_PER_USER', { default: 20, min: 1 }),
    maxTopicsPerConnection: read.integer('MAX_TOPICS_PER_CONNECTION', {
      default: 32,
      min: 0,
      max: 63,
    }),
    heartbeatIntervalMs: read.integer('HEARTBEAT_INTERVAL_MS', {
      default: 15_000,
      min: 100,
      max: 300_000,
    }),
    retryMs: read.integer('RETRY_MS', { default: 3_000, min: 100, max: 600_000 }),
    // The publisher SDK and CLI check the same ranges.
    historyMaxLen: read.integer('HISTORY_MAX_LEN', { default: 1_000, ...HISTORY_SETTING_RANGES.historyMaxLen }),
    historyTtlSeconds: read.integer('HISTORY_TTL_SECONDS', {
      default: 7 * 86_400,
      ...HISTORY_SETTING_RANGES.historyTtlSeconds,
    }),
    idempotencyTtlSeconds: read.integer('IDEMPOTENCY_TTL_SECONDS', {
      default: 86_400,
      ...HISTORY_SETTING_RANGES.idempotencyTtlSeconds,
    }),
    maxPendingBytes: read.integer('MAX_PENDING_BYTES', { default: 1024 * 1024, min: 1024 }),
    maxUnsentBytes: read.integer('MAX_UNSENT_BYTES', {
      default: Math.floor((sources.heapSizeLimit ?? getHeapStatistics().heap_size_limit) / 4),
      min: 1024 * 1024,
    }),
    // A body is held whole while it is checked, as bytes, text and parsed values, several times
    // its size: much past 64 MiB, one publish could take much of the heap the manifests give a
    // pod (512 MiB), and past 512 MiB its text is longer than V8's longest string.
    publishMaxBodyBytes: read.integer('PUBLISH_MAX_BODY_BYTES', {
      default: 256 * 1024,
      min: 1024,
      max: PUBLISH_MAX_BODY_BYTES_LIMIT,
    }),
    tokenExpiryJitterMs: read.integer('TOKEN_EXPIRY_JITTER_MS', { default: 30_000, min: 0 }),
    connectionRatePerSecond: read.integer('CONNECTION_RATE_PER_SECOND', { default: 2_500, min: 1 }),
    connectionRateBurst: read.integer('CONNECTION_RATE_BURST', { default: 5_000, min: 1 }),
    drainWindowMs: read.integer('DRAIN_WINDOW_MS', { default: 10_000, min: 0, max: 600_000 }),
    publishWaitForReplicas:
      publishWaitReplicas > 0 ? { replicas: publishWaitReplicas, timeoutMs: publishWaitTimeoutMs } : undefined,
    pubsubProbeIntervalMs: read.integer('PUBSUB_PROBE_INTERVAL_MS', { default: 5_000, min: 100, max: 300_000 }),
    corsAllowedOrigins: new Set(corsOrigins),
    logLevel,
    generated,
    // Last: every variable has been read by now.
    misspelt: misspeltVariables(Object.keys(sources.env), read.asked),
  }
  if (read.problems.length > 0) throw new ConfigProblems(read.problems)
  return Object.freeze(config)
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6')

/** Whether binding to `host` keeps the listener on this machine: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  if (isIPv4(host)) return LOOPBACK.check(host, 'ipv4')
  if (isIPv6(host)) return LOOPBACK.check(host, 'ipv6')
  return false
}

/** The origin a browser would send for `text`, if it is an http(s) URL at all. */
function browserOrigin(text: string): string | undefined {
  try {
    const { origin } = new URL(text)
    return origin.startsWith('http') ? origin : undefined
  } catch {
    return undefined
  }
}

/**
 * The Redis password, to be censored by value in every log line, if it is long enough to be told
 * from ordinary words: a short one ("redis", say) would censor them in every line it appears in.
 */
function censoredRedisPassword(redis: RedisTarget | string | undefined): string | undefined {
  const password = typeof redis === 'object' ? redisPassword(redis) : undefined
  return password !== undefined && password.length >= MIN_CENSORED_PASSWORD_LENGTH ? password : undefined
}

const MIN_CENSORED_PASSWORD_LENGTH = 8
