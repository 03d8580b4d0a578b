/**
 * What every scenario run shares: start the target and enough load workers, open the streams,
 * run the body under a hard time limit, and tear everything down even when it fails.
 */
import type { Subscription } from '../client/messages.js'
import { LoadFleet } from '../harness/fleet.js'
import { flushLoopbackTcpMetrics } from '../harness/tcp-metrics.js'
import { startTarget, type Target, type TargetName, type TargetOptions } from '../targets/index.js'

/**
 * Streams per load worker, below the 20,000 open files a process may hold: unicast and broadcast
 * (10,000 streams) run one worker, the 19,000-stream scenarios two. A worker that holds more
 * streams reads more of them per wakeup; side by side on 2026-12-02, one worker for unicast's
 * 10,000 spent 11–15 µs per delivery at 10–30k msg/s where two spent 19–26, and the box kept
 * up to 30k msg/s where two workers fell behind from 25k.
 */
export const STREAMS_PER_WORKER = 10_000

export interface Session {
  readonly target: Target
  readonly fleet: LoadFleet
  /** Opens these streams; throws unless every one went live. */
  open(subscriptions: readonly Subscription[], ratePerSecond?: number): Promise<void>
}

export async function withSession<T>(
  name: TargetName,
  options: TargetOptions & { readonly timeoutMs: number },
  body: (session: Session) => Promise<T>,
): Promise<T> {
  flushLoopbackTcpMetrics()
  const target = await startTarget(name, options)
  const fleet = LoadFleet.start(Math.max(1, Math.ceil(options.connections / STREAMS_PER_WORKER)))
  let timer: NodeJS.Timeout | undefined
  /** Streams opened so far in this session: all of them must be live, not only the latest batch. */
  let total = 0
  try {
    const session: Session = {
      target,
      fleet,
      async open(subscriptions, ratePerSecond = 5_000) {
        total += subscriptions.length
        const timeoutMs = 30_000 + (subscriptions.length / ratePerSecond) * 3_000
        const opened = await fleet.open(target, subscriptions, { ratePerSecond, timeoutMs })
        const stats = await fleet.until((s) => s.live >= total, 10_000)
        if (stats.live < total) {
          throw new Error(`${name}: only ${stats.live} of ${total} streams are live (${opened.failed} failed to open)`)
        }
      },
    }
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${name}: scenario exceeded ${options.timeoutMs} ms`)),
        options.timeoutMs,
      )
    })
    return await Promise.race([body(session), limit])
  } finally {
    clearTimeout(timer)
    await fleet.close()
    await target.stop()
  }
}

/** Mints the streams: one per user `prefix<i>`, each on `topic` too if given. */
export async function subscriptions(
  target: Target,
  count: number,
  prefix: string,
  topic?: string,
): Promise<Subscription[]> {
  const result: Subscription[] = []
  for (let i = 0; i < count; i++) result.push(await target.subscription(`${prefix}${i}`, topic))
  return result
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
