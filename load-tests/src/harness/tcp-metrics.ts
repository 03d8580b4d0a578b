/**
 * Clears what the kernel remembers about loopback TCP peers before a session, so every target
 * starts from the same kernel state and not from what the scenario before it left.
 *
 * Linux keeps each closed connection's RTT per (source, destination) pair (`ip tcp_metrics`)
 * and seeds new connections' retransmission timers from it. A resume storm overflows the
 * gateway's accept queue, so its tail is a series of retransmitted handshakes, and their timers
 * are what the storm's length is made of. After a loaded scenario the cache held RTTs of
 * 160–270 ms (variance up to 490 ms) for the load workers' addresses. On 2026-12-02 Herald's
 * storm took 28.8 and 29.0 s inside `bench:all` without the flush, 6.6 s in the `bench:all`
 * with it, and 6.3–16 s when run on its own.
 */
import { spawnSync } from 'node:child_process'

let warned = false

/** Flushes the cached metrics of 127.0.0.0/8 peers; warns once if `ip` cannot (not Linux, not root). */
export function flushLoopbackTcpMetrics(): void {
  const run = spawnSync('ip', ['tcp_metrics', 'flush', '127.0.0.0/8'], { encoding: 'utf8' })
  if (run.status === 0 || warned) return
  warned = true
  const why = (run.stderr ?? '').trim() || run.error?.message || `exit ${run.status}`
  console.warn(`load harness: could not flush loopback TCP metrics (${why}); storms may retry on stale RTTs`)
}
