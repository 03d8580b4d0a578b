/**
 * Gateway processes on a shared Redis, for the multi-node tests.
 */

import { HeraldPublisher } from '@herald/publisher'
import { pollUntil } from '@herald/redis-harness'
import { afterAll, beforeAll } from 'vitest'
import { type GatewayProcess, RecordingEventSource, signToken, startGatewayProcess, TEST_API_KEY } from './harness.js'

export interface GatewayNode {
  readonly process: GatewayProcess
  readonly url: string
  eventsUrl(query?: Record<string, string>): string
  publish(body: unknown): Promise<Response>
}

/** Starts `count` gateway processes on the Redis at `redisUrl`; resolves once each is listening. */
export async function startNodes(
  redisUrl: string,
  count: number,
  env: Record<string, string> = {},
): Promise<GatewayNode[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const { process, url } = await startGatewayProcess({ REDIS_URL: redisUrl, ...env })
      return {
        process,
        url,
        eventsUrl: (query = {}) => `${url}/v1/events?${new URLSearchParams(query)}`,
        publish: (body: unknown) =>
          fetch(`${url}/v1/publish`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          }),
      }
    }),
  )
}

/** A gauge or counter without labels, as the node's /metrics reports it now. */
export async function metric(node: GatewayNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
}

/**
 * Resolves to the metric once it reads `expected`, or to its last reading after `timeoutMs`.
 * For states with no event to await, such as a node's count of open streams settling after
 * clients move to it; the caller asserts on what this returns.
 */
export async function metricSettlesAt(
  node: GatewayNode,
  name: string,
  expected: number,
  timeoutMs = 15_000,
): Promise<number> {
  const settled = async () => ((await metric(node, name)) === expected ? expected : undefined)
  return pollUntil(`${name} at ${expected}`, settled, { timeoutMs, maxIntervalMs: 50 }).catch(() => metric(node, name))
}

export async function stopNodes(nodes: readonly GatewayNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.process.stop()))
}

/**
 * Publishes `count` messages `{ n }` to a user through `publish`, paced at about
 * `perSecond` (the workload, not a synchronisation), retrying each message until
 * it is acknowledged. Resolves to the numbers acknowledged, in order.
 */
export async function publishSequence(
  count: number,
  perSecond: number,
  publish: (n: number) => Promise<void>,
  onFailure: (n: number, error: unknown) => Promise<void> = async (_n, error) => {
    throw error
  },
): Promise<{ acknowledged: number[]; seconds: number }> {
  const acknowledged: number[] = []
  const started = performance.now()
  const batch = Math.max(1, Math.round(perSecond / 100))
  for (let n = 0; n < count; ) {
    const tick = new Promise((resolve) => setTimeout(resolve, 10))
    for (const last = Math.min(count, n + batch); n < last; n++) {
      for (;;) {
        try {
          await publish(n)
          acknowledged.push(n)
          break
        } catch (error) {
          await onFailure(n, error)
        }
      }
    }
    await tick
  }
  return { acknowledged, seconds: (performance.now() - started) / 1000 }
}

/** A Redis of some topology, as a fleet sees it. */
export interface RedisUnderTest {
  readonly url: string
  stop(): Promise<void>
}

export interface Fleet<R extends RedisUnderTest> {
  readonly redis: R
  readonly nodes: readonly GatewayNode[]
  readonly publisher: HeraldPublisher
  /** A browser tab: a spec EventSource for `user` (granted `news` and `org/*`) on `node`. */
  tab(
    node: GatewayNode,
    user: string,
    options?: { lastEventId?: string; topics?: string; types?: string[] },
  ): Promise<RecordingEventSource>
}

/** For a describe block: a Redis, `count` gateway processes on it and a publisher, torn down after. */
export function useFleet<R extends RedisUnderTest>(
  startRedis: () => Promise<R>,
  count: number,
  env: Record<string, string> = {},
): Fleet<R> {
  let redis: R | undefined
  let nodes: GatewayNode[] = []
  let publisher: HeraldPublisher | undefined
  const tabs: RecordingEventSource[] = []
  beforeAll(async () => {
    redis = await startRedis()
    nodes = await startNodes(redis.url, count, env)
    publisher = new HeraldPublisher({ redis: redis.url })
  })
  afterAll(async () => {
    for (const tab of tabs) tab.close()
    await publisher?.close()
    await stopNodes(nodes)
    await redis?.stop()
  })
  return {
    get redis() {
      return redis!
    },
    get nodes() {
      return nodes
    },
    get publisher() {
      return publisher!
    },
    async tab(node, user, { topics, ...options } = {}) {
      const token = await signToken(user, { topics: ['news', 'org/*'] })
      const tab = new RecordingEventSource(node.eventsUrl(topics === undefined ? {} : { topics }), {
        token,
        ...options,
      })
      tabs.push(tab)
      return tab
    },
  }
}
