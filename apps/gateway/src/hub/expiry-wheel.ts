/**
 * Deadlines for many items on one timer: items are kept in one-second
 * buckets and collected by a periodic sweep, instead of one timer each.
 * Used for token expiry; pure, so it is tested without waiting.
 */

export class ExpiryWheel<T> {
  readonly #buckets = new Map<number, Set<T>>()
  readonly #bucketOf = new Map<T, number>()

  get size(): number {
    return this.#bucketOf.size
  }

  add(item: T, deadlineMs: number): void {
    this.remove(item)
    const bucket = Math.ceil(deadlineMs / 1000)
    let items = this.#buckets.get(bucket)
    if (items === undefined) {
      items = new Set()
      this.#buckets.set(bucket, items)
    }
    items.add(item)
    this.#bucketOf.set(item, bucket)
  }

  remove(item: T): void {
    const bucket = this.#bucketOf.get(item)
    if (bucket === undefined) return
    this.#bucketOf.delete(item)
    const items = this.#buckets.get(bucket)
    items?.delete(item)
    if (items?.size === 0) this.#buckets.delete(bucket)
  }

  /** Removes and returns every item whose deadline has passed. */
  takeDue(nowMs: number): T[] {
    const due: T[] = []
    const current = Math.floor(nowMs / 1000)
    for (const [bucket, items] of this.#buckets) {
      if (bucket > current) continue
      this.#buckets.delete(bucket)
      for (const item of items) {
        this.#bucketOf.delete(item)
        due.push(item)
      }
    }
    return due
  }
}

/**
 * When to close a connection whose token expires at `expiresAtMs`: a little
 * early, by a random share of the jitter window (at most a tenth of the
 * remaining lifetime), so a fleet whose tokens share an expiry does not
 * reconnect in one burst.
 */
export function closeTimeForExpiry(expiresAtMs: number, nowMs: number, jitterMs: number, random: () => number): number {
  const window = Math.min(jitterMs, Math.max(0, (expiresAtMs - nowMs) / 10))
  return expiresAtMs - random() * window
}
