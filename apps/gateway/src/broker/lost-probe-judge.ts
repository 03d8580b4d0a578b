/**
 * What a Cluster node does about a lost probe. In a reshard a probe's own slot can move: Redis
 * drops the subscription with the slot, and the probe is published to the new owner, where
 * nothing listens until the subscriber has read the new slots map and followed it. That read
 * is asynchronous and, on a busy host, slower than a probe interval. So a first loss asks for
 * the map and waits for it; what was lost before the read is forgotten, and only a loss proven
 * again after it rebuilds the subscriber. Pure logic: the broker does the reading and rebuilding.
 */

/** `kept`: every probe delivered after the map was read; the loss was a slot move, and is over. */
export type LostProbeAction = 'none' | 'read-slots' | 'wait' | 'rebuild' | 'kept'

export class LostProbeJudge {
  /** `unread` until a loss; `reading` until the map is read; then the time it was read. */
  #slots: 'unread' | 'reading' | number = 'unread'

  /**
   * This tick's action. `lost`: a probe is lost now. `everyProbeDeliveredAtMs`: when the probe
   * that delivered longest ago last delivered. `canReadSlots`: the subscriber has a slots map
   * (a Cluster); without one a loss rebuilds at once.
   */
  next(lost: boolean, everyProbeDeliveredAtMs: number, canReadSlots: boolean): LostProbeAction {
    if (!lost) {
      if (typeof this.#slots !== 'number' || everyProbeDeliveredAtMs < this.#slots) return 'none'
      this.#slots = 'unread'
      return 'kept'
    }
    if (!canReadSlots) return 'rebuild'
    if (this.#slots === 'unread') {
      this.#slots = 'reading'
      return 'read-slots'
    }
    if (this.#slots === 'reading') return 'wait'
    this.#slots = 'unread'
    return 'rebuild'
  }

  /** The map asked for by `read-slots` has been read (or could not be: the next loss judges). */
  slotsRead(nowMs: number): void {
    if (this.#slots === 'reading') this.#slots = nowMs
  }

  /** A new subscriber: nothing is pending. */
  reset(): void {
    this.#slots = 'unread'
  }
}
