/**
 * An async map with a bound on the calls in flight. A resync reads the history of every
 * channel of the node: started all at once (12,977 channels in a probe), the replies came
 * back together and their catch-ups ran back to back, 1.4 s and then 1.0 s without a turn
 * of the event loop, /healthz waiting behind them. With a bound, a socket read carries at
 * most that many replies, and Redis still has a full pipeline to answer.
 */

/**
 * `fn` over `items`, at most `limit` calls pending at once, each started as one before it
 * settles. Resolves to the results in the items' order; `fn` is expected not to reject (a
 * rejection rejects the whole, while the other workers go on through the items left).
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
  return results
}
