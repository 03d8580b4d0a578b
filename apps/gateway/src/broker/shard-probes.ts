/**
 * Delivery probes, one per shard: the channels a node publishes to itself to
 * prove its subscriber still receives, and the bookkeeping of which of them
 * arrive. A sharded subscription can die on one master while the others (and
 * every TCP connection) look fine, so each master gets a probe channel of its
 * own, hashed into that master's slots. Pure logic, time passed in.
 */

import { calculateSlot } from '@herald/publisher/internal'

const PROBE_CHANNEL_START = 'herald:{probe:'

/** A probe channel of this process; `tag` picks its hash slot. */
export function probeChannel(prefix: string, tag = ''): string {
  return `${PROBE_CHANNEL_START}${prefix}${tag === '' ? '' : `:${tag}`}}:c`
}

/**
 * Whether a Pub/Sub channel is a probe's, of this process or another: a prefix check, so a
 * delivery costs no lookup in the probe table (user and topic channels start `herald:{u:`
 * and `herald:{t:`).
 */
export function isProbeChannel(channel: string): boolean {
  return channel.startsWith(PROBE_CHANNEL_START)
}

/**
 * One probe channel per master of a cluster slots map (ioredis's `Cluster.slots`: per slot, the
 * master's node key first). Tags are tried in order, so the same slot layout gives the same
 * channels whichever node serves each range, and a failover does not change them.
 */
export function shardProbeChannels(prefix: string, slots: readonly (readonly string[] | undefined)[]): string[] {
  const masters = new Set<string>()
  for (const nodes of slots) if (nodes?.[0] !== undefined) masters.add(nodes[0])
  const channels: string[] = []
  const covered = new Set<string>()
  // Each try lands on a master in proportion to its slots, so this ends fast unless a master
  // owns almost nothing; the bound keeps a pathological map from spinning.
  for (let tag = 0; covered.size < masters.size && tag < 1_000_000; tag++) {
    const channel = probeChannel(prefix, String(tag))
    const master = slots[calculateSlot(channel)]?.[0]
    if (master === undefined || covered.has(master)) continue
    covered.add(master)
    channels.push(channel)
  }
  return channels
}

interface ProbeState {
  deliveredAtMs: number
  /** How many probes this process had sent when one last arrived (or the channel was tracked). */
  sentAtDelivery: number
  /** When the newest probe Redis acknowledged was sent. */
  acknowledgedSentAtMs: number
  /** The oldest acknowledged publish not yet followed by a delivery. */
  undelivered: { seq: number; sentAtMs: number } | undefined
  lastDeliveredSeq: number
}

/**
 * Probes sent since the last arrival (or since the unarrived one, counting it) before a probe is
 * judged. The time limits are 3 and 5 probe intervals, by which a running timer has sent that
 * many, so this delays no real finding. After this process stood still, the probe in flight at
 * the pause and the one its first tick sends may both still be unread behind a request it
 * answers first; a third goes out only after an interval of running.
 */
export const PROBES_SENT_BEFORE_JUDGING = 3

/**
 * Which probes arrive. A probe is stale when nothing arrived for `staleAfterMs` (readiness fails);
 * it is lost when Redis acknowledged a publish that `lostAfterMs` later still had not arrived:
 * the shard is up and the subscription is not, which only rebuilding the subscriber mends.
 *
 * Either also needs {@link PROBES_SENT_BEFORE_JUDGING} probes sent since: this process's own
 * timer sends them, so time alone cannot tell Redis that stopped delivering from this process
 * stopped running (a pause, a long GC, a loaded host), when no probe went out to arrive. On
 * time alone, the first check after such a pause found every probe overdue: at a 100 ms
 * interval, a pause of 350–800 ms turned 14 of 15 new streams away `broker_unavailable`,
 * Redis untouched.
 */
export class ProbeLedger {
  readonly #probes = new Map<string, ProbeState>()
  #seq = 0

  constructor(
    readonly staleAfterMs: number,
    readonly lostAfterMs: number,
  ) {}

  channels(): string[] {
    return [...this.#probes.keys()]
  }

  /** Replaces the probed channels; a channel kept keeps its state, a new one starts fresh at `nowMs`. */
  track(channels: readonly string[], nowMs: number): void {
    const next = new Map<string, ProbeState>()
    for (const channel of channels)
      next.set(
        channel,
        this.#probes.get(channel) ?? {
          deliveredAtMs: nowMs,
          sentAtDelivery: this.#seq,
          acknowledgedSentAtMs: 0,
          undelivered: undefined,
          lastDeliveredSeq: 0,
        },
      )
    this.#probes.clear()
    for (const [channel, state] of next) this.#probes.set(channel, state)
  }

  /** Every probe counts as just delivered (a fresh subscription), and nothing as lost. */
  restart(nowMs: number): void {
    for (const state of this.#probes.values()) {
      state.deliveredAtMs = nowMs
      state.sentAtDelivery = this.#seq
    }
    this.forgetUndelivered()
  }

  /**
   * Forgets the publishes so far that have not arrived: a loss must be shown again by later ones
   * (after the slots map was read, LostProbeJudge). Staleness, and with it readiness, is kept.
   */
  forgetUndelivered(): void {
    for (const state of this.#probes.values()) {
      state.undelivered = undefined
      state.lastDeliveredSeq = this.#seq
    }
  }

  /** When the probe that delivered longest ago last delivered (a new probe counts from when it was tracked). */
  everyDeliveredAtMs(): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const state of this.#probes.values()) oldest = Math.min(oldest, state.deliveredAtMs)
    return this.#probes.size === 0 ? Number.NEGATIVE_INFINITY : oldest
  }

  /** The message to publish on every probe channel now. */
  message(nowMs: number): string {
    this.#seq += 1
    return `${this.#seq}:${nowMs}`
  }

  acknowledged(channel: string, message: string): void {
    const state = this.#probes.get(channel)
    const sent = parseMessage(message)
    if (state === undefined || sent === undefined) return
    state.acknowledgedSentAtMs = Math.max(state.acknowledgedSentAtMs, sent.sentAtMs)
    if (sent.seq > state.lastDeliveredSeq && state.undelivered === undefined) state.undelivered = sent
  }

  /** Whether `channel` is a probe; if so, records its arrival and reports the round trip in seconds. */
  delivered(channel: string, message: string, nowMs: number, onLatency: (seconds: number) => void): boolean {
    const state = this.#probes.get(channel)
    if (state === undefined) return false
    const sent = parseMessage(message)
    if (sent === undefined) return true
    state.deliveredAtMs = nowMs
    state.sentAtDelivery = this.#seq
    state.lastDeliveredSeq = Math.max(state.lastDeliveredSeq, sent.seq)
    if (state.undelivered !== undefined && sent.seq >= state.undelivered.seq) state.undelivered = undefined
    onLatency(Math.max(0, nowMs - sent.sentAtMs) / 1000)
    return true
  }

  /** Whether Redis acknowledged a probe sent at or after `sinceMs` on every shard: all of them are up. */
  acknowledgedSince(sinceMs: number): boolean {
    for (const state of this.#probes.values()) if (state.acknowledgedSentAtMs < sinceMs) return false
    return this.#probes.size > 0
  }

  /** Probe channels nothing arrived on for too long, while probes went out. */
  stale(nowMs: number): string[] {
    return this.channels().filter((channel) => {
      const state = this.#probes.get(channel)!
      return (
        nowMs - state.deliveredAtMs >= this.staleAfterMs &&
        this.#seq - state.sentAtDelivery >= PROBES_SENT_BEFORE_JUDGING
      )
    })
  }

  /** Probe channels whose acknowledged publish never arrived, while more went out. */
  lost(nowMs: number): string[] {
    return this.channels().filter((channel) => {
      const { undelivered } = this.#probes.get(channel)!
      return (
        undelivered !== undefined &&
        nowMs - undelivered.sentAtMs >= this.lostAfterMs &&
        this.#seq - undelivered.seq + 1 >= PROBES_SENT_BEFORE_JUDGING
      )
    })
  }
}

function parseMessage(message: string): { seq: number; sentAtMs: number } | undefined {
  const [seq, sentAtMs] = message.split(':').map(Number)
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(sentAtMs)) return undefined
  return { seq: seq!, sentAtMs: sentAtMs! }
}
