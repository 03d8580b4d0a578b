/**
 * Deadlines for many items on one timer: items are kept in one-second
 * buckets and collected by a periodic sweep, instead of one timer each.
 * Each item carries its own deadline (and with it its bucket), so the wheel
 * keeps one set entry per item and no item-to-bucket map. A sweep takes the
 * buckets that begin by a given time, with each item's exact deadline, so
 * the caller can act on it to the millisecond (stream-expiry.ts). Pure, so it
 * is tested without waiting.
 */

/** An item the wheel can hold: `expiryMs` is the wheel's to set, 0 while outside it. */
export interface Expiring {
  expiryMs: number
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
    item.expiryMs = Math.max(1, deadlineMs)
    const bucket = Math.floor(item.expiryMs / 1000)
    let items = this.#buckets.get(bucket)
    if (items === undefined) {
      items = new Set()
      this.#buckets.set(bucket, items)
    }
    items.add(item)
    this.#size++
  }

  remove(item: T): void {
    if (item.expiryMs === 0) return
    const bucket = Math.floor(item.expiryMs / 1000)
    item.expiryMs = 0
    this.#size--
    const items = this.#buckets.get(bucket)
    items?.delete(item)
    if (items?.size === 0) this.#buckets.delete(bucket)
  }

  /** Removes every item whose deadline's second has begun by `untilMs`, handing each over with its deadline. */
  takeDue(untilMs: number, each: (item: T, deadlineMs: number) => void): void {
    const current = Math.floor(untilMs / 1000)
    for (const [bucket, items] of this.#buckets) {
      if (bucket > current) continue
      this.#buckets.delete(bucket)
      for (const item of items) {
        const deadlineMs = item.expiryMs
        item.expiryMs = 0
        this.#size--
        each(item, deadlineMs)
      }
    }
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
