/**
 * Streams closed a slice per turn of the event loop, not all in one. A Redis that came back
 * empty closes every stream of a node from one resync, and its reads all answer together:
 * closed inside that one turn, 18,500 streams held the node's event loop for 3.7–5 s, about a
 * second of it the closes' own writes and more their garbage, and `/healthz` and every other
 * stream waited (a probe of 2026-12-06). Whoever queues a stream here has already stopped
 * delivering to it, so the wait changes nothing it is sent.
 */

/** About 13 ms of closes at the 50 µs each one took in that probe. */
export const CLOSES_PER_TURN = 256

export class SlicedCloser<T> {
  #pending: T[] = []
  #next = 0

  constructor(
    private readonly closeOne: (item: T) => void,
    /** A close that threw: the others still close (a queue that stopped would hold them open for good). */
    private readonly onError: (error: unknown) => void,
    private readonly perTurn: number = CLOSES_PER_TURN,
  ) {}

  /** Queues `item`; it is closed within a few turns, in the order queued. */
  add(item: T): void {
    this.#pending.push(item)
    // A slice is already scheduled unless this is the first item since the queue last ran dry.
    if (this.#pending.length === 1) setImmediate(this.#closeSlice)
  }

  /** Items queued and not closed yet. */
  get pending(): number {
    return this.#pending.length - this.#next
  }

  readonly #closeSlice = (): void => {
    const end = Math.min(this.#next + this.perTurn, this.#pending.length)
    while (this.#next < end) {
      try {
        this.closeOne(this.#pending[this.#next++]!)
      } catch (error) {
        this.onError(error)
      }
    }
    if (this.#next < this.#pending.length) {
      setImmediate(this.#closeSlice)
      return
    }
    this.#pending = []
    this.#next = 0
  }
}
