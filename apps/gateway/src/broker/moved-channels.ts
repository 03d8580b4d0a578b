/**
 * The channels whose Cluster slot moved to another master, held by the hub until
 * each is subscribed on its new master and caught up from its stream. A reshard
 * moves slot after slot for minutes: one catch-up runs at a time and takes every
 * channel moved so far, while the other channels stay live and the node ready.
 * A catch-up that fails (ioredis still routing by the old map, or a connection
 * lost) leaves its channels for the next readiness; the broker escalates to a
 * full resubscribe if they stay held too long.
 */

export interface MovedChannelSteps {
  /** SSUBSCRIBEs these channels, where the current slots map says; rejects if any fails. */
  subscribe(channelKeys: readonly string[]): Promise<void>
  /** Catches these channels up from history and releases what was held. */
  resync(channelKeys: readonly string[]): Promise<void>
  /** Whether a stream still listens to the channel. */
  wanted(channelKey: string): boolean
}

export class MovedChannels {
  readonly #pending = new Set<string>()
  /** When the oldest channel still pending was held, or 0. */
  #heldSinceMs = 0
  #running = false

  constructor(private readonly steps: MovedChannelSteps) {}

  add(channelKeys: readonly string[], nowMs: number): void {
    if (this.#pending.size === 0) this.#heldSinceMs = nowMs
    for (const key of channelKeys) this.#pending.add(key)
  }

  /** How long the oldest pending channel has been held, at `nowMs`; 0 when none is. */
  heldForMs(nowMs: number): number {
    return this.#pending.size === 0 || this.#running ? 0 : nowMs - this.#heldSinceMs
  }

  /** Forgets the pending channels: a full resync catches them up with the rest. */
  clear(): void {
    this.#pending.clear()
    this.#heldSinceMs = 0
  }

  /** Subscribes and catches up every pending channel; resolves to the error of a failed round, if any. */
  async catchUp(): Promise<Error | undefined> {
    if (this.#running) return undefined
    this.#running = true
    try {
      while (this.#pending.size > 0) {
        const channelKeys = [...this.#pending].filter((key) => this.steps.wanted(key))
        this.#pending.clear()
        try {
          // Subscribed on the new master before the read: what is announced in between is not lost.
          await this.steps.subscribe(channelKeys)
        } catch (error) {
          for (const key of channelKeys) this.#pending.add(key)
          return error as Error
        }
        await this.steps.resync(channelKeys)
      }
      this.#heldSinceMs = 0
      return undefined
    } finally {
      this.#running = false
    }
  }
}
