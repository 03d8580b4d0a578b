/**
 * What `herald tail` prints, read from the stream itself; Pub/Sub only wakes it up. ioredis
 * resubscribes after a reconnect, but what was announced meanwhile is gone, so a tail that
 * printed announcements skipped entries without a word (blocks of 11 to 39 of 600 after a
 * killed subscriber connection, and 218 of 800 across a Redis restart, in a probe). Here each
 * read starts after the last entry printed, one runs every second besides, and a history that
 * no longer reaches back that far (trimmed, expired, lost with Redis's data) is said so.
 */

/** Entries a read asks for, and the data bytes it stops at (the gateways' page). */
export const READ_COUNT = 200
export const READ_MAX_BYTES = 64 * 1024

export interface FollowerIo {
  /** `herald_read` after `after`: `['entries' | 'more', id, type, data, ...]`, `['trimmed']` or `['unknown']`. */
  read(after: string): Promise<unknown>
  /** `herald_tail`: where a new follower starts. */
  tail(): Promise<string>
  /** The stream's own entries after `after` (XRANGE), as `read` answers them: `['entries', id, type, data, ...]`. */
  range(after: string): Promise<unknown>
  print(id: string, type: string, data: string): void
  warn(line: string): void
}

export class StreamFollower {
  #position: string
  #reading: Promise<void> | undefined
  #again = false
  #failing = false
  /** The tail it followed on from after its last warning, until it prints past it. */
  #anchor: string | undefined

  constructor(
    position: string,
    private readonly io: FollowerIo,
  ) {
    this.#position = position
  }

  /** The id of the last entry printed, or the tail it started from. */
  get position(): string {
    return this.#position
  }

  /** Prints every entry after the position; one read at a time, and one more if woken meanwhile. */
  wake(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true
      return this.#reading
    }
    this.#reading = this.#drain().finally(() => {
      this.#reading = undefined
    })
    return this.#reading
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false
      try {
        await this.#readToEnd()
        if (this.#failing) {
          this.#failing = false
          this.io.warn('Redis answers again; what was published meanwhile is printed above')
        }
      } catch (error) {
        if (!this.#failing) {
          this.#failing = true
          const reason = error instanceof Error ? error.message : String(error)
          this.io.warn(`lost Redis (${reason}); what is published meanwhile is printed once it answers`)
        }
        return
      }
    } while (this.#again)
  }

  async #readToEnd(): Promise<void> {
    for (;;) {
      let reply = (await this.io.read(this.#position)) as string[]
      let kind = reply[0]
      // The tail it followed on from is itself from before the dataset (a library dated as a new
      // dataset while the stream kept its entries: a FUNCTION FLUSH that kept the data, with a
      // library before version 14, or a stream emptied since), so herald_read
      // cannot vouch for it. What the stream holds after it came since, so it is printed from the
      // stream itself, with no second warning: the first warned once a second, and then followed
      // on past the first entries published after it.
      if ((kind === 'trimmed' || kind === 'unknown') && this.#position === this.#anchor) {
        reply = (await this.io.range(this.#position)) as string[]
        kind = reply[0]
      }
      if (kind === 'trimmed' || kind === 'unknown') {
        const tail = await this.io.tail()
        this.io.warn(
          `the history after ${this.#position} is gone (${GONE[kind]}): entries published since may not have been printed; following on from ${tail}`,
        )
        this.#position = tail
        this.#anchor = tail
        return
      }
      if (kind !== 'entries' && kind !== 'more') throw new Error(`herald_read answered ${JSON.stringify(kind)}`)
      const entries = (reply.length - 1) / 3
      for (let i = 1; i + 2 < reply.length; i += 3) {
        this.io.print(reply[i]!, reply[i + 1]!, reply[i + 2]!)
        this.#position = reply[i]!
      }
      if (kind === 'entries' && entries < READ_COUNT) return
    }
  }
}

/** herald_read's verdicts in words: `trimmed` also answers for a dataset Redis lost since (a restart without persistence). */
const GONE = {
  trimmed: "trimmed, expired, or lost with Redis's data",
  unknown: 'a position this stream never held',
} as const
