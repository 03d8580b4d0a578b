/**
 * Publishes at a steady rate for a bounded time: every millisecond it sends what is due, with at
 * most a few batches in flight. A server (or publisher) that cannot keep up shows as an achieved
 * rate below the asked one instead of an unbounded queue in the harness.
 *
 * The tick models a continuous publisher, such as an app's request handlers. With a 10 ms tick,
 * 30k msg/s left in bursts of 300, and the last message of each burst waited for the 299 before
 * it at every hop. That put every target's median at 5–9 ms, which measured the harness and not
 * the server. A 1 ms tick costs the publisher and Redis a few µs more per message.
 */

const TICK_MS = 1
const MAX_IN_FLIGHT = 4

export interface PaceResult {
  readonly sent: number
  readonly seconds: number
  readonly errors: number
}

/** `send(n)` publishes the next n messages; resolves after the last batch settled. */
export async function pace(
  ratePerSecond: number,
  durationMs: number,
  send: (count: number) => Promise<void>,
  maxBatch = Math.max(1, Math.ceil(ratePerSecond / 20)),
): Promise<PaceResult> {
  const started = performance.now()
  let sent = 0
  let errors = 0
  let inFlight = 0
  const batches: Promise<void>[] = []
  while (performance.now() - started < durationMs) {
    const due = Math.floor((ratePerSecond * (performance.now() - started)) / 1000) - sent
    if (due > 0 && inFlight < MAX_IN_FLIGHT) {
      const count = Math.min(due, maxBatch)
      sent += count
      inFlight++
      batches.push(
        send(count)
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
