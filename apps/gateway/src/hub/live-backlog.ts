/**
 * Live entries waiting for a turn of the event loop with room to write them, in the order the
 * broker delivered them.
 *
 * One read of the subscriber's socket can carry hundreds of announcements, and each is a write
 * to every listener of its channel. Fanned out as they came, 5,000 streams on a topic published
 * at twice what the node could write held its event loop for 14 s at a time: `/healthz` went
 * unanswered and a liveness probe killed the node, sending every stream into a reconnect storm
 * (a probe of 2026-12-07). Waiting here, they go out over turns (turn-budget.ts), and the node
 * answers between them.
 *
 * Bounded by its owner, in bytes and in how long its oldest entry has waited: a node that stays
 * behind would otherwise hold all that Redis sends it, and deliver it later and later.
 */

import type { HistoryEntry } from '../broker/broker.js'

/** What an entry costs beside its strings: its object, and the two slots it takes here. */
const ENTRY_OVERHEAD_BYTES = 96

/** About what an entry holds in memory: its strings (two bytes a character at most) and its object. */
export function entryBytes(entry: HistoryEntry): number {
  return 2 * (entry.id.length + entry.data.length + (entry.type?.length ?? 0)) + ENTRY_OVERHEAD_BYTES
}

export class LiveBacklog {
  /** Two arrays, not one of pairs: a pair would be an allocation per entry. */
  #channelKeys: string[] = []
  #entries: HistoryEntry[] = []
  /** When each came, by the monotonic clock: numbers, so the array stays packed. */
  #arrivedAtMs: number[] = []
  #head = 0
  #bytes = 0

  get size(): number {
    return this.#entries.length - this.#head
  }

  /** What the entries waiting hold, by {@link entryBytes}. */
  get bytes(): number {
    return this.#bytes
  }

  /** When the oldest entry came; the backlog must not be empty. */
  get oldestArrivedAtMs(): number {
    return this.#arrivedAtMs[this.#head]!
  }

  /** How long the oldest entry has waited at `nowMs` (the monotonic clock); 0 when none waits. */
  waitedMs(nowMs: number): number {
    return this.size === 0 ? 0 : nowMs - this.oldestArrivedAtMs
  }

  push(channelKey: string, entry: HistoryEntry, arrivedAtMs: number): void {
    this.#channelKeys.push(channelKey)
    this.#entries.push(entry)
    this.#arrivedAtMs.push(arrivedAtMs)
    this.#bytes += entryBytes(entry)
  }

  /** Hands the oldest entry to `use`, and forgets it. The backlog must not be empty. */
  takeOldest(use: (channelKey: string, entry: HistoryEntry) => void): void {
    const head = this.#head
    const channelKey = this.#channelKeys[head]!
    const entry = this.#entries[head]!
    this.#head = head + 1
    this.#bytes -= entryBytes(entry)
    if (this.#head === this.#entries.length) this.#reset()
    // Shifting the arrays would copy them on every take; a long run taken keeps them from growing.
    else if (this.#head >= 4096 && this.#head * 2 >= this.#entries.length) {
      this.#channelKeys = this.#channelKeys.slice(this.#head)
      this.#entries = this.#entries.slice(this.#head)
      this.#arrivedAtMs = this.#arrivedAtMs.slice(this.#head)
      this.#head = 0
    }
    use(channelKey, entry)
  }

  /** Forgets every entry; the channels they were for, each once. */
  drop(): Set<string> {
    const channelKeys = new Set(this.#channelKeys.slice(this.#head))
    this.#reset()
    return channelKeys
  }

  #reset(): void {
    this.#channelKeys = []
    this.#entries = []
    this.#arrivedAtMs = []
    this.#head = 0
    this.#bytes = 0
  }
}
