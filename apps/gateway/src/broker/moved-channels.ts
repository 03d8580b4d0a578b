/**
 * The channels whose Cluster slot moved to another master, held by the hub until
 * each is subscribed on its new master and caught up from its stream. A reshard
 * moves slot after slot for minutes: one catch-up runs at a time and takes every
 * channel moved so far, while the other channels stay live and the node ready.
 * A catch-up that fails (ioredis still routing by the old map, or a connection
 * lost) leaves its channels for the next readiness or probe tick, whichever
 * comes first; the broker rebuilds its subscriber if channels stay held too
 * long. A full resubscribe clears this, and a round under way then stops:
 * releasing its channels would end their part of the suspension early.
 */

export interface MovedChannelSteps {
  /** SSUBSCRIBEs these channels, where the current slots map says; rejects if any fails. */
  subscribe(channelKeys: readonly string[]): Promise<void>
  /** Undoes those SSUBSCRIBEs for the channels no stream wants any more. */
  dropUnwanted(channelKeys: readonly string[]): void
  /** Catches these channels up from history and releases what was held. */
  resync(channelKeys: readonly string[]): Promise<void>
  /** Whether a stream still listens to the channel. */
  wanted(channelKey: string): boolean
}

/** What a catch-up did: the channels it caught up, and the error that stopped it, if one did. */
export interface MovedCatchUp {
  readonly caughtUp: number
  readonly failed?: Error
}

export class MovedChannels {
  readonly #pending = new Set<string>()
  /** When the oldest channel not caught up yet (pending, or in a round) was held; 0 if none. */
  #heldSinceMs = 0
  #running = false
  /** Whether the last round stopped on a failed subscribe, so no readiness may come to retry it. */
  #failed = false
  /** Bumped by `clear`, so a round that a full resubscribe overtook stops. */
  #generation = 0

  constructor(private readonly steps: MovedChannelSteps) {}

  add(channelKeys: readonly string[], nowMs: number): void {
    if (this.#heldSinceMs === 0) this.#heldSinceMs = nowMs
    for (const key of channelKeys) this.#pending.add(key)
  }

  /** How long the oldest channel not caught up yet has been held, at `nowMs`; 0 when none is. */
  heldForMs(nowMs: number): number {
    return this.#heldSinceMs === 0 ? 0 : nowMs - this.#heldSinceMs
  }

  /** Forgets every channel, and stops a round under way: a full resync catches them up with the rest. */
  clear(): void {
    this.#pending.clear()
    this.#heldSinceMs = 0
    this.#failed = false
    this.#generation += 1
  }

  /**
   * Whether a catch-up should be tried again now: the last one failed and left channels held.
   * A failure that came after ioredis's last readiness (its map followed, then a connection
   * dropped a command) gets no new readiness, and waiting for the escalation would hold those
   * channels for five probe intervals and then rebuild the subscriber for every channel.
   */
  retryDue(): boolean {
    return this.#failed && !this.#running && this.#pending.size > 0
  }

  /** Subscribes and catches up every pending channel, round after round. */
  async catchUp(): Promise<MovedCatchUp> {
    if (this.#running) return { caughtUp: 0 }
    this.#running = true
    this.#failed = false
    const generation = this.#generation
    let caughtUp = 0
    try {
      while (this.#pending.size > 0) {
        const channelKeys = [...this.#pending].filter((key) => this.steps.wanted(key))
        this.#pending.clear()
        try {
          // Subscribed on the new master before the read: what is announced in between is not lost.
          await this.steps.subscribe(channelKeys)
        } catch (error) {
          if (generation === this.#generation) {
            for (const key of channelKeys) this.#pending.add(key)
            this.#failed = true
          }
          return { caughtUp, failed: error as Error }
        } finally {
          // A stream that left meanwhile sent its SUNSUBSCRIBE, which a MOVED can put ahead of the
          // SSUBSCRIBE, sent on to the new master once the map was read: subscribed there for
          // nobody, and listed by ioredis to follow the slot (a black-box run: 7 of 680 moves).
          this.steps.dropUnwanted(channelKeys)
        }
        if (generation !== this.#generation) return { caughtUp }
        await this.steps.resync(channelKeys)
        caughtUp += channelKeys.length
      }
      if (generation === this.#generation) this.#heldSinceMs = 0
      return { caughtUp }
    } finally {
      this.#running = false
    }
  }
}
