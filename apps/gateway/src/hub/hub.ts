/**
 * The hub: which local connections listen to which channel, and the fan-out
 * from the broker to them. The data path is one way: broker → hub →
 * connection → socket. Broker subscriptions are reference-counted: the first
 * local listener of a channel subscribes, the last one to leave unsubscribes.
 */

import { type Channel, compareStreamIds, isAfter, parseStreamId, type StreamId } from '@herald/protocol'
import type { Logger } from 'pino'
import type { Broker, BrokerSink, HistoryEntry } from '../broker/broker.js'
import { monotonicMs } from '../clock/monotonic-ms.js'
import { LogBurstLimit } from '../log/log-burst-limit.js'
import type { Metrics } from '../metrics/metrics.js'
import { mapBounded } from './bounded-map.js'
import { ChannelMembers } from './channel-members.js'
import { jitteredRetryMs } from './drain.js'
import { isTooFarAhead } from './far-ahead.js'
import { FramedEntry } from './framed-entry.js'
import { entryBytes, LiveBacklog } from './live-backlog.js'
import type { QuietChannel, QuietChannelSource, QuietMove } from './quiet-positions.js'
import { hasMore, lastPosition, readPage } from './resume.js'
import { SlicedCloser } from './sliced-closer.js'
import type { CloseReason, SseConnection } from './sse-connection.js'
import { TurnBudget } from './turn-budget.js'
import { overUnsentBudget } from './unsent-budget.js'

interface ChannelListeners {
  readonly channel: Channel
  /** Each listening connection, with the slot of this channel in its channel list. */
  readonly members: ChannelMembers<SseConnection>
  /** Settles when the broker subscription is in place; dropped then, so a quiet channel keeps no promise. */
  subscribed: Promise<void> | undefined
  /** While live delivery is suspended, entries wait here until the channel has caught up. */
  held: HistoryEntry[] | undefined
  /** The hold they wait for: a catch-up releases them only if no newer hold came since it began. */
  holdStamp: number
}

/** One function for every live fan-out, rather than a closure per entry. */
function deliverTo(connection: SseConnection, slot: number, framed: FramedEntry): boolean {
  return connection.deliver(slot, framed)
}

/** A catch-up's fan-out, into the streams' batches: kept apart so live delivery checks for none. */
function deliverInBatchTo(connection: SseConnection, slot: number, framed: FramedEntry): boolean {
  return connection.deliverInBatch(slot, framed)
}

/** How one channel's catch-up ended: its history read whole, a gap, or the read's error. */
type CatchUpOutcome = 'caught_up' | 'trimmed' | 'unknown' | Error

/** Dropped-entry lines logged per window; the rest are counted in one line per window. */
const DROPPED_ENTRY_LOG_BURST = 3
const DROPPED_ENTRY_LOG_WINDOW_MS = 10_000
/**
 * History reads a resync keeps pending: enough that Redis always has the next ones queued,
 * few enough that the replies one socket read carries, and the catch-ups they run, leave the
 * event loop free within milliseconds (bounded-map.ts).
 */
export const CATCH_UPS_IN_FLIGHT = 128
/** A listener that already has an entry costs a catch-up a comparison: about this many make a write. */
const SKIPS_PER_WRITE = 32
/**
 * How far behind live delivery may fall (live-backlog.ts), in what waits and in how long the
 * oldest of it has waited when another entry comes. Past either, the node drops what waits and
 * closes the streams it was for, which resume from history: exactly where it still reaches back,
 * else with `herald.reset`. A burst the node can work off is better delivered late and exact: at
 * 30 s, a probe's topic at five times what the node could write for 30 s was dropped once its
 * oldest entry had waited 30 s, and 4,122 of its 5,000 streams were reset (its 1,000 entries of
 * history held 22 s); with no age bound, all of them got every message. Five minutes bounds a
 * node that stays behind for good, where a tab is better told to refetch, and may come back to
 * a node less loaded. Checked as entries come, not as they go: a node that is no longer sent
 * more than it writes finishes what waits. The bytes bound keeps memory safe: 64 MiB is about
 * 150,000 entries of 150 characters, seconds of the most unicast a node writes here (40k a second).
 */
export interface LiveBacklogBounds {
  readonly maxBytes: number
  readonly maxAgeMs: number
}

export const LIVE_BACKLOG_BOUNDS: LiveBacklogBounds = { maxBytes: 64 * 1024 * 1024, maxAgeMs: 300_000 }

export class Hub implements BrokerSink, QuietChannelSource {
  readonly #channels = new Map<string, ChannelListeners>()
  readonly #connections = new Set<SseConnection>()
  readonly #droppedEntryLog = new LogBurstLimit(DROPPED_ENTRY_LOG_BURST, DROPPED_ENTRY_LOG_WINDOW_MS, (held) =>
    this.logger.warn({ held, windowMs: DROPPED_ENTRY_LOG_WINDOW_MS }, 'more dropped broker entries than logged'),
  )
  /** Counts holds, so a catch-up that a new hold of its channel overtook keeps holding. */
  #holds = 0
  /**
   * Streams in setup when one of their channels was held, or that set up during a hold: the
   * catch-up cannot start them from a settled position, so each reads what it may have missed
   * itself, once its channels are released ({@link afterHolds}).
   */
  readonly #heldInSetup = new Set<SseConnection>()
  /** Streams in setup waiting for their channels' release, each with what resumes it. */
  readonly #awaitingRelease = new Map<SseConnection, () => void>()
  /** The writes live delivery and catch-ups make per turn of the event loop, all of them together (turn-budget.ts). */
  readonly #writes = new TurnBudget()
  /** Live entries that came while the turn's budget was spent, or others waited for it. */
  readonly #backlog = new LiveBacklog()
  /** Whether the backlog's drain waits in the budget's line. */
  #backlogInLine = false
  /** Live streams a catch-up closes, already detached: a slice per turn, each with its own jittered retry hint. */
  readonly #closer = new SlicedCloser<{ readonly connection: SseConnection; readonly reason: CloseReason }>(
    ({ connection, reason }) => connection.closeWithRetry(reason, jitteredRetryMs(this.retryMs, Math.random)),
    (error) => this.logger.error({ err: (error as Error).message }, 'closing a stream after a catch-up failed'),
  )

  constructor(
    private readonly broker: Broker,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** RETRY_MS: streams the hub closes together are told to come back after a jittered delay from it. */
    private readonly retryMs: number,
    private readonly liveBacklogBounds: LiveBacklogBounds = LIVE_BACKLOG_BOUNDS,
  ) {}

  /** Open streams, counting those detached and waiting for their close (their sockets and slots are still held). */
  get connectionCount(): number {
    return this.#connections.size + this.#closer.pending
  }

  get channelCount(): number {
    return this.#channels.size
  }

  /** Bytes written to the streams that the kernel has not taken yet: a scrape's sum, not kept per write. */
  get unsentBytes(): number {
    let total = 0
    for (const connection of this.#connections) total += connection.unsentBytes
    return total
  }

  /**
   * Cuts, as slow consumers, the streams that hold the most unsent bytes while all of them together
   * hold more than `budgetBytes` (unsent-budget.ts). Says how many it cut, and what they held.
   */
  cutOverUnsentBudget(budgetBytes: number): { streams: number; bytes: number } {
    // A stream in setup may hold its whole replay; its own bound cuts it if its client stops reading,
    // and the replays' bytes are bounded by the history each channel keeps.
    const cut = overUnsentBudget(this.#connections, budgetBytes, (connection) => connection.state === 'live')
    let bytes = 0
    for (const connection of cut) {
      bytes += connection.unsentBytes
      connection.close('slow_consumer')
    }
    return { streams: cut.length, bytes }
  }

  /** Registers the connection on all its channels; resolves once the broker delivers them all. */
  async attach(connection: SseConnection): Promise<void> {
    this.#connections.add(connection)
    const ready = connection.channels.map((channel, slot) => {
      let listeners = this.#channels.get(channel.key)
      if (listeners === undefined) {
        const subscribed = this.broker.subscribe(channel.key)
        listeners = { channel, members: new ChannelMembers(), subscribed, held: undefined, holdStamp: 0 }
        this.#channels.set(channel.key, listeners)
        // A failed subscription fails every waiting attach; the next attach tries again.
        const created = listeners
        subscribed.then(
          () => {
            created.subscribed = undefined
          },
          () => {
            if (this.#channels.get(channel.key) === created) this.#channels.delete(channel.key)
          },
        )
      }
      listeners.members.set(connection, slot)
      if (listeners.held !== undefined) this.#heldInSetup.add(connection)
      return listeners.subscribed
    })
    await Promise.all(ready)
  }

  detach(connection: SseConnection): void {
    if (!this.#connections.delete(connection)) return
    this.#heldInSetup.delete(connection)
    this.#wake(connection)
    for (const channel of connection.channels) {
      const listeners = this.#channels.get(channel.key)
      if (listeners === undefined || !listeners.members.delete(connection) || listeners.members.size > 0) continue
      this.#channels.delete(channel.key)
      // Fails only when the broker connection is going down, and then for every stream
      // closing with it: debug, message only, so a drain during an outage cannot flood the log.
      this.broker.unsubscribe(channel.key).catch((error: unknown) => {
        this.logger.debug({ err: (error as Error).message, channel: channel.kind }, 'unsubscribe failed')
      })
    }
  }

  /** Live entries waiting for a turn with room (live-backlog.ts). */
  get liveBacklogEntries(): number {
    return this.#backlog.size
  }

  /** How long the oldest live entry waiting for a turn with room has waited, in ms; 0 when none waits (live-backlog.ts). */
  get liveBacklogAgeMs(): number {
    return this.#backlog.waitedMs(monotonicMs())
  }

  /**
   * Fan-out of one broker entry: framed once, written to every local listener, now if this turn
   * has room and nothing waits; else in order, behind what waits.
   */
  deliver(channelKey: string, entry: HistoryEntry): void {
    const listeners = this.#channels.get(channelKey)
    if (listeners === undefined || listeners.members.size === 0) return
    if (this.#backlog.size === 0 && this.#writes.runsNow) {
      this.#deliverTo(listeners, entry)
      return
    }
    const backlog = this.#backlog
    const nowMs = monotonicMs()
    const bounds = this.liveBacklogBounds
    if (backlog.bytes + entryBytes(entry) > bounds.maxBytes || backlog.waitedMs(nowMs) > bounds.maxAgeMs) {
      this.#dropBacklog(channelKey, nowMs)
      return
    }
    backlog.push(channelKey, entry, nowMs)
    if (this.#backlogInLine) return
    this.#backlogInLine = true
    this.#writes.take(this.#drainBacklog).catch(this.#onDrainFailed)
  }

  #deliverTo(listeners: ChannelListeners, entry: HistoryEntry): void {
    if (listeners.held !== undefined) {
      listeners.held.push(entry)
      return
    }
    try {
      this.#fanOutSpending(listeners, entry, deliverTo)
    } catch (error) {
      // Some listeners may not have it: they resume from their positions instead of missing it.
      this.logger.error(
        { err: error instanceof Error ? error.message : String(error), channel: listeners.channel.key },
        'live delivery failed; closing the channel to resume',
      )
      this.#closeAllWithRetry(listeners, 'error')
    }
  }

  /** A waiting entry's turn: its channel's listeners now, which may have left meanwhile. */
  readonly #deliverWaiting = (channelKey: string, entry: HistoryEntry): void => {
    const listeners = this.#channels.get(channelKey)
    if (listeners !== undefined && listeners.members.size > 0) this.#deliverTo(listeners, entry)
  }

  /** Delivers what waits while the turn has room; then waits in line again, behind the catch-ups queued meanwhile. */
  readonly #drainBacklog = (): void => {
    const backlog = this.#backlog
    try {
      while (backlog.size > 0 && this.#writes.hasRoom) backlog.takeOldest(this.#deliverWaiting)
    } finally {
      if (backlog.size > 0) this.#writes.take(this.#drainBacklog).catch(this.#onDrainFailed)
      else this.#backlogInLine = false
    }
  }

  readonly #onDrainFailed = (error: unknown): void => {
    this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'live delivery failed')
  }

  /**
   * The node is too far behind to keep what waits: drops it, and closes the streams it was for
   * (each once, with a jittered retry), which resume from their positions, from history. On a
   * node that stays behind, most of them come back to a node less loaded, or lighten this one.
   */
  #dropBacklog(channelKey: string, nowMs: number): void {
    const bytes = this.#backlog.bytes
    const waitedMs = this.#backlog.waitedMs(nowMs)
    const channelKeys = this.#backlog.drop()
    channelKeys.add(channelKey)
    const listeners = this.#listenersOf([...channelKeys])
    let streams = 0
    for (const channel of listeners) {
      streams += channel.members.size
      this.#closeAllWithRetry(channel, 'node_behind')
    }
    this.metrics.liveBacklogDropped(streams)
    this.logger.warn(
      { channels: listeners.length, streams, bytes, waitedMs, ...this.liveBacklogBounds },
      'live delivery fell too far behind: dropped what waited and closed its streams, which resume from history',
    )
  }

  suspend(): void {
    this.#hold(this.#channels.values())
    // A stream still resuming read its history before the outage and has no live
    // position to catch up from; it is turned away as a new stream would be, and comes back
    // after a jittered retry to resume again. Ended, not destroyed: its head is still held,
    // and a destroyed one reaches the client as an empty reply.
    for (const connection of this.#connections) if (connection.state === 'resuming') connection.turnAway()
  }

  /**
   * Holds some channels only (their slot moved), as `suspend` holds all. The streams still in
   * setup on them go on setting up, and read what the hold may have cost them once it is over:
   * turned away, as on a suspension, every tab opening during a reshard came back once more.
   */
  hold(channelKeys: readonly string[]): void {
    const held = this.#listenersOf(channelKeys)
    this.#hold(held)
    for (const listeners of held)
      for (const connection of listeners.members.list())
        if (connection.state === 'resuming') this.#heldInSetup.add(connection)
  }

  /**
   * Whether a hold came while this stream set up. If one did, resolves once none of its channels
   * is held any more, to true unless it closed meanwhile: the catch-up skipped it, so the caller
   * reads its channels from its positions before it goes live, and asks again, since another hold
   * may come meanwhile.
   */
  async afterHolds(connection: SseConnection): Promise<boolean> {
    if (!this.#heldInSetup.delete(connection)) return false
    if (this.#connections.has(connection) && this.#isHeld(connection)) {
      await new Promise<void>((resolve) => this.#awaitingRelease.set(connection, resolve))
    }
    return this.#connections.has(connection)
  }

  #isHeld(connection: SseConnection): boolean {
    return connection.channels.some((channel) => this.#channels.get(channel.key)?.held !== undefined)
  }

  #wake(connection: SseConnection): void {
    const resume = this.#awaitingRelease.get(connection)
    if (resume === undefined) return
    this.#awaitingRelease.delete(connection)
    resume()
  }

  #hold(channels: Iterable<ChannelListeners>): void {
    const stamp = ++this.#holds
    for (const listeners of channels) {
      listeners.held ??= []
      listeners.holdStamp = stamp
    }
  }

  #listenersOf(channelKeys: readonly string[]): ChannelListeners[] {
    const found: ChannelListeners[] = []
    for (const key of channelKeys) {
      const listeners = this.#channels.get(key)
      if (listeners !== undefined) found.push(listeners)
    }
    return found
  }

  /**
   * Catches every channel up from history, from the oldest position any of its
   * connections holds, then releases what was held. Connections drop what they
   * already have. A channel whose history no longer reaches back closes its
   * streams: they reconnect and resume, exactly or with herald.reset.
   *
   * Held again meanwhile (the subscriber dropped once more, or the channel's slot
   * moved again), a channel keeps holding after its catch-up: releasing would let
   * live entries past a new gap move the positions on, and the next resync would
   * not see it.
   */
  async resync(channelKeys?: readonly string[]): Promise<number> {
    const channels = channelKeys === undefined ? [...this.#channels.values()] : this.#listenersOf(channelKeys)
    // Fewest listeners first. Catch-ups share one write budget a turn: a topic whose entries each
    // cost the turn's budget (2,000 listeners), read first because the node met it first, kept
    // every user channel behind it stale until it was done, 4.6–12.7 s after a 6 s partition,
    // against 1.1–1.5 s without the topic's traffic (a probe of 2026-12-07; turns were not yet
    // taken in line then, turn-budget.ts). Read in this order, 1.3–1.4 s. A channel's catch-up
    // costs its listeners a write per entry, so the small ones are done within a few turns, and
    // the streams they hold up are most of the node's.
    channels.sort((a, b) => a.members.size - b.members.size)
    // Taken now, not when a channel's turn comes: a hold between the two must keep it held.
    const holdStamps = channels.map((listeners) => listeners.holdStamp)
    const outcomes = await mapBounded(channels, CATCH_UPS_IN_FLIGHT, (listeners, index) =>
      this.#catchUp(listeners, holdStamps[index]!),
    )
    // One line per resync, not per channel: an outage reaches every channel of the node at once.
    const count = (outcome: CatchUpOutcome) => outcomes.filter((o) => o === outcome).length
    const [trimmed, unknown] = [count('trimmed'), count('unknown')]
    if (trimmed + unknown > 0) {
      this.logger.warn(
        { channels: trimmed + unknown, trimmed, unknown, of: channels.length },
        'history does not cover the outage; their streams will resume',
      )
    }
    const failed = outcomes.filter((o): o is Error => o instanceof Error)
    if (failed.length > 0) {
      this.logger.warn(
        { channels: failed.length, of: channels.length, err: failed[0]!.message },
        'catch-up read failed; their streams will resume',
      )
    }
    return trimmed + unknown + failed.length
  }

  /**
   * Closes a channel's streams, each with its own jittered retry hint: an outage closes every
   * stream of the node at once, and with the connect-time hint alone they would all come back
   * within the same few hundred milliseconds. A live one is detached at once, so nothing past
   * the gap reaches it, and closed within a few turns (sliced-closer.ts): a Redis that came
   * back empty closes every stream of the node from one resync.
   */
  #closeAllWithRetry(listeners: ChannelListeners, reason: CloseReason): void {
    for (const connection of listeners.members.list()) {
      // One still in setup has sent nothing yet to close: it is turned away, as a new stream would be.
      if (connection.state === 'resuming') connection.turnAway()
      else {
        this.detach(connection)
        this.#closer.add({ connection, reason })
      }
    }
  }

  async #catchUp(listeners: ChannelListeners, holdStamp: number): Promise<CatchUpOutcome> {
    // Live streams only: one still in setup may have no position yet (0-0, before every history),
    // and read from there the catch-up found the history gone and closed every live stream of the
    // channel (a reshard while tabs connected closed up to 20 of 53 in a probe). Every such stream
    // was in setup at the hold or set up during it, so it reads its own after the release.
    let from: StreamId | undefined
    listeners.members.forEach((slot, connection) => {
      if (connection.state !== 'live') return
      const position = connection.positionAt(slot)
      if (from === undefined || compareStreamIds(position, from) < 0) from = position
    })
    try {
      while (from !== undefined) {
        const page = await readPage(this.broker, listeners.channel.key, from)
        if (page.outcome !== 'entries') {
          this.#closeAllWithRetry(listeners, 'history_gap')
          return page.outcome
        }
        let next = 0
        while (next < page.entries.length) {
          const from = next
          next = await this.#writes.take(() => this.#writeTurn(listeners, page.entries, from))
        }
        from = hasMore(page) ? lastPosition(page.entries) : undefined
      }
      return 'caught_up'
    } catch (error) {
      // Without the history read, releasing the held entries would skip what came before them.
      this.#closeAllWithRetry(listeners, 'broker_unavailable')
      return error instanceof Error ? error : new Error(String(error))
    } finally {
      await this.#release(listeners, holdStamp)
    }
  }

  /**
   * Writes what the hold kept back, over as many turns as the budget takes; entries that come
   * meanwhile join the queue, so they still go out after it. A new hold of the channel stops the
   * release where it is: what is left waits, with what comes after it, for that hold's catch-up.
   */
  async #release(listeners: ChannelListeners, holdStamp: number): Promise<void> {
    const held = listeners.held ?? []
    let released = 0
    while (holdStamp === listeners.holdStamp) {
      if (released === held.length) {
        listeners.held = undefined
        for (const connection of this.#awaitingRelease.keys()) if (!this.#isHeld(connection)) this.#wake(connection)
        return
      }
      const from = released
      // Checked again in its turn: a hold that came while it waited in line stops it before a write.
      released = await this.#writes.take(() =>
        holdStamp === listeners.holdStamp ? this.#writeTurn(listeners, held, from, holdStamp) : from,
      )
    }
    held.splice(0, released)
  }

  /**
   * Writes `entries` from `from` on, as many as this turn's budget takes (one at least), with
   * the channel's live streams held meanwhile, so that each stream's share of them leaves in
   * one write (sse-connection.ts, startBatch). A release passes its `holdStamp`, and stops at
   * once if a new hold of the channel came in a write. Returns the index after the last entry written.
   */
  #writeTurn(listeners: ChannelListeners, entries: readonly HistoryEntry[], from: number, holdStamp?: number): number {
    const batched: SseConnection[] = []
    let next = from
    try {
      listeners.members.forEach((_slot, connection) => {
        if (connection.startBatch()) batched.push(connection)
      })
      do this.#fanOutSpending(listeners, entries[next++]!, deliverInBatchTo)
      while (
        next < entries.length &&
        this.#writes.hasRoom &&
        (holdStamp === undefined || holdStamp === listeners.holdStamp)
      )
    } finally {
      for (const connection of batched) connection.endBatch()
    }
    return next
  }

  /** Writes `entry` to every listener that does not have it yet; how many it was written to. */
  #fanOut(listeners: ChannelListeners, entry: HistoryEntry, deliver: typeof deliverTo): number {
    const position = parseStreamId(entry.id)
    if (position === undefined) {
      this.#logDropped(listeners, entry, 'dropped a broker entry with a malformed id')
      return 0
    }
    if (isTooFarAhead(position, Date.now())) {
      // Redis makes every later id of the stream from this one: the channel stays silent until
      // its key is deleted (docs/redis-contract.md), and each publish to it would log.
      this.#logDropped(listeners, entry, 'dropped a broker entry whose id is over a year ahead of this clock')
      return 0
    }
    const framed = new FramedEntry(listeners.channel, entry, position, listeners.members.size > 1)
    const written = listeners.members.count(deliver, framed)
    this.metrics.recordDelivery(written, entry.publishedAtMs)
    return written
  }

  /**
   * A fan-out of one entry, spent from the turn's budget: the writes it made, and the listeners
   * that already had it at a fraction of a write each (most held entries, released after a
   * catch-up that read them from history, are such; live ones after streams resumed past them),
   * so a long run of them still takes turns.
   */
  #fanOutSpending(listeners: ChannelListeners, entry: HistoryEntry, deliver: typeof deliverTo): void {
    const written = this.#fanOut(listeners, entry, deliver)
    this.#writes.spend(written + (listeners.members.size - written) / SKIPS_PER_WRITE)
  }

  /** Reports the dropped entries not yet logged, as a node that stops before the window ends must. */
  flushLogs(): void {
    this.#droppedEntryLog.flush()
  }

  /** Names the channel to repair; a few lines per window, since every publish to it drops too. */
  #logDropped(listeners: ChannelListeners, entry: HistoryEntry, message: string): void {
    if (this.#droppedEntryLog.take()) this.logger.warn({ channel: listeners.channel.key, entryId: entry.id }, message)
  }

  quietChannels(beforeMs: number): QuietChannel[] {
    const quiet: QuietChannel[] = []
    // A waiting entry is not in any stream's position yet, and its key may expire meanwhile (a
    // short HISTORY_TTL_SECONDS): moved to the tail, its streams would drop it as one they had.
    if (this.#backlog.size > 0) return quiet
    for (const [key, listeners] of this.#channels) {
      if (listeners.held !== undefined) continue
      let oldestMs = Number.POSITIVE_INFINITY
      let newest: StreamId | undefined
      listeners.members.forEach((slot, connection) => {
        // A stream still resuming has no settled position yet; the next pass sees it live.
        if (connection.state !== 'live') return
        const position = connection.positionAt(slot)
        oldestMs = Math.min(oldestMs, position.ms)
        if (newest === undefined || isAfter(position, newest)) newest = position
      })
      if (newest !== undefined && oldestMs < beforeMs) quiet.push({ key, newest, stamp: listeners.holdStamp })
    }
    return quiet
  }

  advanceQuiet(moves: readonly QuietMove[]): number {
    // One herald.position per stream, however many of its channels moved: each carries the whole token.
    const moved = new Set<SseConnection>()
    // Entries came to wait while the tails were read (quietChannels).
    if (this.#backlog.size > 0) return 0
    for (const { channel, tail } of moves) {
      const listeners = this.#channels.get(channel.key)
      // Held since it was listed: the catch-up reads from the positions as they were.
      if (listeners === undefined || listeners.held !== undefined || listeners.holdStamp !== channel.stamp) continue
      listeners.members.forEach((slot, connection) => {
        if (connection.state !== 'live' || !isAfter(tail, connection.positionAt(slot))) return
        connection.setPosition(slot, tail)
        moved.add(connection)
      })
    }
    for (const connection of moved) connection.announcePosition()
    return moved.size
  }

  /** Every local connection, live: for the heartbeat sweep and shutdown. */
  get connections(): ReadonlySet<SseConnection> {
    return this.#connections
  }
}
