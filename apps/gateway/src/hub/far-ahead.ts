/**
 * Entry ids too far past this node's clock to have come from Redis. Redis makes a stream's ids
 * from its own clock, so an id a year ahead was written around the functions (a raw XADD with an
 * id of its choosing), and every later id of that stream follows it. Delivered, such an entry
 * would move the stream's position past everything published after the stream is repaired
 * (its key deleted, docs/redis-contract.md), and silence the stream for good. Live fan-out,
 * catch-up and replay all skip such entries, through this one check.
 */

import type { StreamId } from '@herald/protocol'

/** How far past this node's clock an entry's id may be. */
export const MAX_ID_AHEAD_MS = 366 * 24 * 3600 * 1000

/** Whether Redis could not have made this id, by this node's clock (`nowMs`, the wall clock Redis ids follow). */
export function isTooFarAhead(position: StreamId, nowMs: number): boolean {
  return position.ms > nowMs + MAX_ID_AHEAD_MS
}
