/**
 * The coordinator's side of the load workers: forks them, each with its own 127.0.0.x source
 * addresses, spreads subscriptions over them, and merges their answers. Every request has a
 * hard timeout, and `close` kills whatever did not exit.
 */
import { type ChildProcess, fork } from 'node:child_process'
import type { Command, Reply, Subscription, Verdict, WorkerStats } from '../client/messages.js'
import { Histogram } from './histogram.js'

const WORKER = new URL('../client/worker.js', import.meta.url).pathname
/** Source addresses per worker: each gives ~28k ephemeral ports, so reconnect storms never run out. */
const ADDRESSES_PER_WORKER = 4

type CommandBody = Command extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never

/** The workers' stats summed, with their latency histograms merged. */
export type FleetStats = Omit<WorkerStats, 'latency'> & { readonly latency: Histogram }

export class LoadFleet {
  #nextId = 1
  readonly #waiting = new Map<number, (reply: Reply) => void>()

  private constructor(readonly workers: readonly ChildProcess[]) {
    for (const worker of workers) {
      worker.on('message', (reply: Reply) => {
        this.#waiting.get(reply.id)?.(reply)
        this.#waiting.delete(reply.id)
      })
    }
  }

  static start(count: number): LoadFleet {
    const workers = Array.from({ length: count }, (_, w) => {
      const addresses = Array.from({ length: ADDRESSES_PER_WORKER }, (_, a) => `127.0.${1 + w}.${10 + a}`)
      return fork(WORKER, addresses, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    })
    return new LoadFleet(workers)
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid!).filter((pid) => pid !== undefined)
  }

  request(worker: ChildProcess, command: CommandBody, timeoutMs = 30_000): Promise<Reply> {
    const id = this.#nextId++
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id)
        reject(new Error(`load worker ${worker.pid} did not answer ${command.type} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiting.set(id, (reply) => {
        clearTimeout(timer)
        resolve(reply)
      })
      worker.send({ ...command, id })
    })
  }

  all(command: CommandBody, timeoutMs?: number): Promise<Reply[]> {
    return Promise.all(this.workers.map((worker) => this.request(worker, command, timeoutMs)))
  }

  /** Opens the subscriptions, dealt round-robin to the workers; resolves to how many went live. */
  async open(
    target: { host: string; port: number; readyEvent: string | null },
    subscriptions: readonly Subscription[],
    options: { ratePerSecond: number; timeoutMs: number },
  ): Promise<{ live: number; failed: number }> {
    const shares = this.workers.map((_, w) => subscriptions.filter((_, i) => i % this.workers.length === w))
    const replies = await Promise.all(
      this.workers.map((worker, w) =>
        this.request(
          worker,
          {
            type: 'open',
            ...target,
            subscriptions: shares[w]!,
            ratePerSecond: options.ratePerSecond / this.workers.length,
            timeoutMs: options.timeoutMs,
          },
          options.timeoutMs + 10_000,
        ),
      ),
    )
    let live = 0
    let failed = 0
    for (const reply of replies) {
      if (reply.type !== 'opened') continue
      live += reply.live
      failed += reply.failed
    }
    return { live, failed }
  }

  async stats(): Promise<FleetStats> {
    const replies = await this.all({ type: 'stats' })
    const latency = new Histogram()
    const total = { live: 0, received: 0, reconnects: 0, shed: 0, failed: 0, heartbeats: 0 }
    for (const reply of replies) {
      if (reply.type !== 'stats') continue
      const s: WorkerStats = reply.stats
      total.live += s.live
      total.received += s.received
      total.reconnects += s.reconnects
      total.shed += s.shed
      total.failed += s.failed
      total.heartbeats += s.heartbeats
      latency.add(Histogram.fromSparse(s.latency).counts)
    }
    return { ...total, latency }
  }

  async verify(published: Readonly<Record<string, number>>): Promise<Verdict> {
    const replies = await this.all({ type: 'verify', published }, 60_000)
    const total = { lost: 0, duplicates: 0, outOfOrder: 0 }
    for (const reply of replies) {
      if (reply.type !== 'verdict') continue
      total.lost += reply.verdict.lost
      total.duplicates += reply.verdict.duplicates
      total.outOfOrder += reply.verdict.outOfOrder
    }
    return total
  }

  /** Polls until `done` holds for the merged stats, or the deadline passes; resolves to the last stats. */
  async until(done: (stats: FleetStats) => boolean, timeoutMs: number, everyMs = 100): Promise<FleetStats> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const stats = await this.stats()
      if (done(stats) || Date.now() > deadline) return stats
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  }

  async close(): Promise<void> {
    await Promise.race([this.all({ type: 'exit' }, 5_000).catch(() => []), new Promise((r) => setTimeout(r, 5_000))])
    for (const worker of this.workers) if (worker.exitCode === null) worker.kill('SIGKILL')
  }
}
