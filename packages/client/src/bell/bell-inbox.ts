/**
 * What the bell holds: the newest `max` items, and how many notifications
 * are unread. The count is kept apart from the list, which is capped: a
 * hundred unread notifications in a list of fifty are still a hundred (99+).
 * Marking all read clears both; a new source (another user) empties both.
 */

import type { BellItem } from './bell-items.js'

/** The list's length when `max-items` is absent or not a whole number from 1 to 1000. */
export const DEFAULT_MAX_ITEMS = 50
const MOST_ITEMS = 1000

/**
 * The `max-items` attribute as a list length. Anything else (`-1`, `2.5`, `0`, `ten`) is the
 * default: a length of -1 or 2.5 made every add throw, and the bell stopped updating.
 */
export function maxItemsOf(attribute: string | null): number {
  if (attribute === null || !/^\s*\d+\s*$/.test(attribute)) return DEFAULT_MAX_ITEMS
  const max = Number(attribute)
  return max >= 1 && max <= MOST_ITEMS ? max : DEFAULT_MAX_ITEMS
}

export class BellInbox {
  #items: BellItem[] = []
  #unread = 0

  /** Newest first. */
  get items(): readonly BellItem[] {
    return this.#items
  }

  get unread(): number {
    return this.#unread
  }

  /** Adds the newest item, dropping the oldest beyond `max`. */
  add(item: BellItem, max: number): void {
    this.#items.unshift(item)
    if (this.#items.length > max) this.#items.length = max
    if (!item.read) this.#unread++
  }

  /** Forgets every item and the count: they belong to the source that brought them. */
  clear(): void {
    this.#items = []
    this.#unread = 0
  }

  markAllRead(): void {
    for (const item of this.#items) item.read = true
    this.#unread = 0
  }
}
