/**
 * Deadlines for many items on one timer: items are kept in one-second
 * buckets and collected by a periodic sweep, instead of one timer each. A
 * bucket falls due when its second begins, and a sweep asks for what falls
 * due before the next one: so an item added at least a sweep period ahead of
 * its deadline goes at most a second plus a period early, and never late, as a
 * token's expiry needs (stream-expiry.ts gives nearer deadlines timers).
 * Each item carries its own bucket, so the wheel keeps one set entry per
 * item and no item-to-bucket map. Used for token expiry; pure, so it is
 * tested without waiting.
 */

/** An item the wheel can hold: `expirySecond` is the wheel's to set, 0 while outside it. */
export interface Expiring {
  expirySecond: number
}

export class ExpiryWheel<T extends Expiring> {
  readonly #buckets = new Map<number, Set<T>>()
  #size = 0

  get size(): number {
    return this.#size
  }

  add(item: T, deadlineMs: number): void {
    this.remove(item)
    // Never 0, which means "not held": deadlines before 1970 fall due at the first sweep anyway.
    const bucket = Math.max(1, Math.floor(deadlineMs / 1000))
    let items = this.#buckets.get(bucket)
    if (items === undefined) {
      items = new Set()
      this.#buckets.set(bucket, items)
    }
    items.add(item)
    item.expirySecond = bucket
    this.#size++
  }

  remove(item: T): void {
    const bucket = item.expirySecond
    if (bucket === 0) return
    item.expirySecond = 0
    this.#size--
    const items = this.#buckets.get(bucket)
    items?.delete(item)
    if (items?.size === 0) this.#buckets.delete(bucket)
  }

  /** Removes and returns every item whose deadline's second has begun by `untilMs`. */
  takeDue(untilMs: number): T[] {
    const due: T[] = []
    const current = Math.floor(untilMs / 1000)
    for (const [bucket, items] of this.#buckets) {
      if (bucket > current) continue
      this.#buckets.delete(bucket)
      for (const item of items) {
        item.expirySecond = 0
        due.push(item)
      }
    }
    this.#size -= due.length
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
