/**
 * What every system under test offers the scenarios: where to subscribe, how to publish, which
 * processes to sample. Herald, Nchan (memory and Redis storage), the naive hono baseline and
 * the bare `node:http` floor implement it, so each scenario runs unchanged against all of them.
 */
import type { Subscription } from '../client/messages.js'
import type { ProcessGroup } from '../harness/proc-sampler.js'

export type Channel = { readonly user: string } | { readonly topic: string }

export interface PublishItem {
  readonly channel: Channel
  /** JSON text, the harness's payload. */
  readonly data: string
}

export interface Target {
  readonly name: TargetName
  readonly host: string
  readonly port: number
  /** The event that says a stream is live, or `null` when a 200 head is all the server sends. */
  readonly readyEvent: string | null
  /** The server's own processes first (the first group is the one "server CPU" means), then helpers like Redis. */
  readonly groups: readonly ProcessGroup[]
  /** A stream for this user, also subscribed to `topic` if given; `key` names the stream whose sequence it checks. */
  subscription(user: string, topic?: string): Promise<Subscription>
  publish(items: readonly PublishItem[]): Promise<void>
  /** The server's V8 memory, where it exposes it. */
  v8Memory?(): Promise<V8Memory>
  stop(): Promise<void>
}

export interface V8Memory {
  readonly heapUsedBytes: number
  /** Heap V8 holds from the OS, used or not. */
  readonly heapTotalBytes: number
  /** Memory outside the heap that JS objects own: Buffers and other ArrayBuffers. */
  readonly externalBytes: number
}

export const TARGET_NAMES = ['herald', 'nchan-memory', 'nchan-redis', 'naive-hono', 'bare-node'] as const
/**
 * The same servers as `herald` and `nchan-memory`, with a process per core: Herald as one
 * gateway per core (as the k8s manifests run one per CPU) with the streams dealt between them,
 * as an L4 balancer such as a Service would; nginx with a worker per core and `reuseport`.
 * Measured beside the single-process targets, never instead of them.
 */
export const PER_CORE_TARGET_NAMES = ['herald-per-core', 'nchan-memory-per-core'] as const
/**
 * The bare `node:http` floor fed by Redis: Herald's shard channels and publisher, and no gateway
 * work beyond one write per announcement. Measured in unicast beside Herald, as the floor under
 * any gateway that Redis feeds on this machine.
 */
export const REDIS_FLOOR_TARGET_NAMES = ['bare-node-redis'] as const
export type TargetName =
  | (typeof TARGET_NAMES)[number]
  | (typeof PER_CORE_TARGET_NAMES)[number]
  | (typeof REDIS_FLOOR_TARGET_NAMES)[number]

export interface TargetOptions {
  /** Streams the server must be able to hold. */
  readonly connections: number
  /** Gateways behind nginx (Herald only); 1 means no nginx. */
  readonly nodes?: number
  /** Write a V8 CPU profile of the server to this directory (Node servers). */
  readonly cpuProfileDir?: string | undefined
  /** Let the server write a V8 heap snapshot to this directory on SIGUSR2 (Node servers). */
  readonly heapSnapshotDir?: string | undefined
  /** The longest silence on a stream before the server sends a heartbeat (Node servers; 15 s if unset). */
  readonly heartbeatIntervalMs?: number | undefined
}

/** The `node` flags that {@link TargetOptions} asks of a Node server. */
export function nodeDiagnosticFlags(options: TargetOptions): string[] {
  return [
    ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]),
    ...(options.heapSnapshotDir === undefined
      ? []
      : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${options.heapSnapshotDir}`]),
  ]
}

/** The environment that sets a Node server's heartbeat interval, under the variable it reads. */
export function heartbeatEnv(variable: string, options: TargetOptions): Record<string, string> {
  return options.heartbeatIntervalMs === undefined ? {} : { [variable]: String(options.heartbeatIntervalMs) }
}

/** Load only ever goes to this machine. */
export function assertLoopback(host: string): void {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))
    throw new Error(`load targets must be on 127.0.0.0/8, not ${host}`)
}
