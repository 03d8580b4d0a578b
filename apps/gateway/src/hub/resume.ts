/**
 * Resume: bring a newly attached connection from the client's position to
 * live, exactly. The connection is already subscribed (live entries wait in
 * its queue), so: read each channel's history after its position, write it
 * merged in time order, then go live; the connection drops the queued
 * entries it has already replayed. If any channel cannot be resumed exactly,
 * nothing is replayed: the stream starts with `herald.reset` at the tails. If
 * history is trimmed while the replay is under way, the reset comes where the
 * gap is, after the entries replayed so far, and `replayed` counts them.
 */

import {
  compareStreamIds,
  frameEvent,
  parseStreamId,
  RESET_EVENT,
  type ResetReason,
  type StreamId,
} from '@herald/protocol'
import type { Broker, HistoryEntry, HistoryRead } from '../broker/broker.js'
import { isTooFarAhead } from './far-ahead.js'
import { FramedEntry } from './framed-entry.js'
import type { SseConnection } from './sse-connection.js'

/** What the client asked for: nothing, something unreadable, or positions by channel tag. */
export type RequestedPosition =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'positions'; readonly positions: ReadonlyMap<string, StreamId> }

export interface ResumeResult {
  readonly outcome: 'fresh' | 'exact' | 'reset'
  readonly reason?: ResetReason
  readonly replayed: number
}

/**
 * A history page: at most this many entries, and at most this many bytes of data (or one entry
 * larger than that). A stream holds one page per channel while it replays, so a client that
 * reads nothing holds 33 of them at most, not 33 of 200 entries of up to 256 KiB each, and the
 * commands connection that carries the pages never waits behind a reply of 50 MB.
 */
export const REPLAY_PAGE_SIZE = 200
export const REPLAY_PAGE_BYTES = 65_536

/** One channel's replay: the current page and where it stands. */
interface Cursor {
  readonly slot: number
  entries: readonly HistoryEntry[]
  index: number
  /** A full page may have more behind it. */
  more: boolean
}

export async function resumeConnection(
  connection: SseConnection,
  broker: Broker,
  requested: RequestedPosition,
): Promise<ResumeResult> {
  const { channels } = connection
  const allSlots = channels.map((_, slot) => slot)
  if (requested.kind === 'fresh') {
    await startAtTails(connection, broker, allSlots)
    return { outcome: 'fresh', replayed: 0 }
  }
  if (requested.kind === 'malformed') return reset(connection, broker, 'malformed')

  const { positions } = requested
  // Every stream of a user carries the user's channel (slot 0), so a token without it is another
  // user's: one sharing a topic with this stream would otherwise resume that topic "exact" and
  // start the user's own channel at its tail, unannounced (a browser that changed user).
  if (!positions.has(channels[0]!.tag)) return reset(connection, broker, 'unknown')
  const resumed = allSlots.filter((slot) => positions.has(channels[slot]!.tag))

  const cursors = await firstCursors(connection, broker, resumed, (slot) => positions.get(channels[slot]!.tag)!)
  if (typeof cursors === 'string') return reset(connection, broker, cursors)

  for (const slot of resumed) {
    const position = positions.get(channels[slot]!.tag)!
    connection.setPosition(slot, position)
  }
  // Channels the client had no position for (a newly added topic) start live.
  await startAtTails(
    connection,
    broker,
    allSlots.filter((slot) => !resumed.includes(slot)),
  )

  return finishReplay(connection, broker, cursors, { outcome: 'exact', replayed: 0 })
}

/**
 * Goes on with a resume that a hold overlapped (hub.ts): the channel's catch-up skipped this
 * stream, so every channel is replayed again from the positions it has reached, to the end of
 * its history. Entries it has already drop out; a gap resets it where the gap is, as in a replay.
 */
export async function topUp(connection: SseConnection, broker: Broker, before: ResumeResult): Promise<ResumeResult> {
  const slots = connection.channels.map((_, slot) => slot)
  const cursors = await firstCursors(connection, broker, slots, (slot) => connection.positionAt(slot))
  if (typeof cursors === 'string') return reset(connection, broker, cursors, before.replayed)
  return finishReplay(connection, broker, cursors, before)
}

/** Each slot's first page after its position, or why one of them cannot be read from there. */
async function firstCursors(
  connection: SseConnection,
  broker: Broker,
  slots: readonly number[],
  positionOf: (slot: number) => StreamId,
): Promise<Cursor[] | ResetReason> {
  const pages = await Promise.all(
    slots.map((slot) => readPage(broker, connection.channels[slot]!.key, positionOf(slot))),
  )
  const failed = pages.find((page) => page.outcome !== 'entries')
  if (failed !== undefined) return failed.outcome
  return slots.map((slot, i) => toCursor(slot, pages[i]!))
}

/** Replays the cursors after what `before` replayed: it ends as `before` did, or reset where a gap is. */
async function finishReplay(
  connection: SseConnection,
  broker: Broker,
  cursors: Cursor[],
  before: ResumeResult,
): Promise<ResumeResult> {
  const { replayed, gap } = await replayMerged(connection, broker, cursors)
  if (gap !== undefined) return reset(connection, broker, gap, before.replayed + replayed)
  return { ...before, replayed: before.replayed + replayed }
}

/** Writes all cursors' entries oldest first across channels, and why it stopped short if history vanished mid-way. */
async function replayMerged(
  connection: SseConnection,
  broker: Broker,
  cursors: Cursor[],
): Promise<{ replayed: number; gap?: ResetReason }> {
  let replayed = 0
  for (;;) {
    let next: { cursor: Cursor; entry: HistoryEntry; position: StreamId } | undefined
    for (const cursor of cursors) {
      // An id this format cannot hold (a raw XADD's, past 16 digits), or one a year ahead (as
      // live fan-out drops), is skipped within its channel: the channel's later entries still
      // take part in this round.
      let position: StreamId | undefined
      while (position === undefined) {
        if (cursor.index === cursor.entries.length) {
          if (!cursor.more) break
          const last = lastPosition(cursor.entries)
          // A page of nothing but such ids: nothing to page on from (redis-contract.md).
          if (last === undefined) break
          const page = await readPage(broker, connection.channels[cursor.slot]!.key, last)
          if (page.outcome !== 'entries') return { replayed, gap: page.outcome }
          Object.assign(cursor, toCursor(cursor.slot, page))
          if (cursor.entries.length === 0) break
        }
        position = parseStreamId(cursor.entries[cursor.index]!.id)
        if (position !== undefined && isTooFarAhead(position, Date.now())) position = undefined
        if (position === undefined) cursor.index++
      }
      if (position === undefined) continue
      const entry = cursor.entries[cursor.index]!
      if (next === undefined || compareStreamIds(position, next.position) < 0) next = { cursor, entry, position }
    }
    if (next === undefined || connection.state === 'closed') return { replayed }
    next.cursor.index++
    const channel = connection.channels[next.cursor.slot]!
    await connection.replay(next.cursor.slot, new FramedEntry(channel, next.entry, next.position, false))
    replayed++
  }
}

/**
 * Where to read the next page from: the page's last entry whose id the resume format holds.
 * One that does not (a raw XADD's, past 16 digits) is read again after it and skipped again,
 * rather than ending the channel's history there.
 */
export function lastPosition(entries: readonly HistoryEntry[]): StreamId | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const position = parseStreamId(entries[i]!.id)
    if (position !== undefined) return position
  }
  return undefined
}

/** One page of a channel's history after `after`. */
export function readPage(broker: Broker, channelKey: string, after: StreamId): Promise<HistoryRead> {
  return broker.readAfter(channelKey, after, REPLAY_PAGE_SIZE, REPLAY_PAGE_BYTES)
}

/** Whether a page read by {@link readPage} may have more history behind it. */
export function hasMore(page: HistoryRead): boolean {
  return page.outcome === 'entries' && (page.truncated === true || page.entries.length === REPLAY_PAGE_SIZE)
}

function toCursor(slot: number, page: HistoryRead): Cursor {
  const entries = page.outcome === 'entries' ? page.entries : []
  return { slot, entries, index: 0, more: hasMore(page) }
}

async function startAtTails(connection: SseConnection, broker: Broker, slots: readonly number[]): Promise<void> {
  const tails = await Promise.all(slots.map((slot) => broker.tail(connection.channels[slot]!.key)))
  slots.forEach((slot, index) => {
    const tail = tails[index]!
    const position = parseStreamId(tail)
    if (position !== undefined) connection.setPosition(slot, position)
  })
}

async function reset(
  connection: SseConnection,
  broker: Broker,
  reason: ResetReason,
  replayed = 0,
): Promise<ResumeResult> {
  await startAtTails(
    connection,
    broker,
    connection.channels.map((_, slot) => slot),
  )
  connection.writeText(frameEvent(RESET_EVENT, JSON.stringify({ reason }), connection.resumeToken()))
  return { outcome: 'reset', reason, replayed }
}
