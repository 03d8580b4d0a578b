/**
 * Publishes at a steady rate for a bounded time: every millisecond it sends what is due, with at
 * most a few batches in flight. A server (or publisher) that cannot keep up shows as an achieved
 * rate below the asked one instead of an unbounded queue in the harness.
 *
 * The tick models a continuous publisher, such as an app's request handlers. With a 10 ms tick,
 * 30k msg/s left in bursts of 300, and the last message of each burst waited for the 299 before
 * it at every hop. That put every target's median at 5–9 ms, which measured the harness and not
 * the server. A 1 ms tick costs the publisher and Redis a few µs more per message.
 *
 * Each message's latency runs from when it fell due, not from when it went out: messages held
 * back while MAX_IN_FLIGHT batches wait for their answers (a server slow to acknowledge, or this
 * process stalled) have waited too, and stamped when sent, that wait was never counted
 * (coordinated omission; the harness review of 2026-12-07).
 */

import { now } from '../client/messages.js'

const TICK_MS = 1
const MAX_IN_FLIGHT = 4

export interface PaceResult {
  readonly sent: number
  readonly seconds: number
  readonly errors: number
}

/**
 * Publishes the next `count` messages; `dueAt(i)` is when the i-th of them fell due, on the
 * clock of `now()` (messages.ts), for its payload's publish time.
 */
export type PacedSend = (count: number, dueAt: (i: number) => number) => Promise<void>

/** `send` publishes the next n messages; resolves after the last batch settled. */
export async function pace(
  ratePerSecond: number,
  durationMs: number,
  send: PacedSend,
  maxBatch = Math.max(1, Math.ceil(ratePerSecond / 20)),
): Promise<PaceResult> {
  const started = performance.now()
  const origin = now()
  const interval = 1000 / ratePerSecond
  let sent = 0
  let errors = 0
  let inFlight = 0
  const batches: Promise<void>[] = []
  while (performance.now() - started < durationMs) {
    const due = Math.floor((ratePerSecond * (performance.now() - started)) / 1000) - sent
    if (due > 0 && inFlight < MAX_IN_FLIGHT) {
      const count = Math.min(due, maxBatch)
      // Message m (from 0) falls due once the rate has made m + 1 of them.
      const first = sent
      const dueAt = (i: number) => origin + (first + i + 1) * interval
      sent += count
      inFlight++
      batches.push(
        send(count, dueAt)
          .catch(() => {
            errors += count
          })
          .finally(() => {
            inFlight--
          }),
      )
      if (batches.length > 64) await Promise.all(batches.splice(0, 32))
      continue
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS))
  }
  await Promise.all(batches)
  return { sent, seconds: (performance.now() - started) / 1000, errors }
}
