/**
 * Heartbeats spread over their interval. Writing a comment to every stream in
 * one tick holds the event loop for streams × one write (about 100 ms at 10k
 * streams), and every live event that arrives meanwhile waits that long. So
 * each stream gets a fixed slice, and each of the interval's ticks writes to
 * one slice only: every stream still gets one heartbeat per interval.
 */

export const HEARTBEAT_SLICES = 16

let nextSlice = 0

/** The slice for a new stream: round robin, so slices stay even as streams come and go. */
export function assignHeartbeatSlice(): number {
  const slice = nextSlice
  nextSlice = (nextSlice + 1) % HEARTBEAT_SLICES
  return slice
}

/** Which slice tick number `tick` serves. */
export function sliceForTick(tick: number): number {
  return tick % HEARTBEAT_SLICES
}
