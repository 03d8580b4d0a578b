/**
 * Subscription changes gathered and sent as few commands as Redis allows:
 * one `SSUBSCRIBE a b c` instead of one command (and one socket write, and
 * one Redis wakeup) per stream. In a resume storm thousands of streams arrive;
 * their SSUBSCRIBEs, one write each, were the largest item in the gateway's
 * profile of the storm.
 *
 * When changes go out: on the next turn of the event loop if no command is
 * waiting for its answer; otherwise once the commands in flight are answered,
 * as Nagle's rule holds back small segments. A node that is busy takes about one
 * request per turn, so "a turn's worth" alone was one channel a command; waiting
 * for the round trip in flight gathers what arrives meanwhile. A quiet node
 * sends at once. The wait is capped ({@link MAX_GATHER_MS}): a command in flight
 * when the connection drops is only resent after a reconnect, and may never be
 * answered if the client is replaced, and new changes must not wait on it.
 *
 * Order is kept: changes go out in the order they were asked for, as runs of
 * the same kind, so a channel that is left and joined again ends subscribed.
 * In Redis Cluster one command's channels must share a slot, so a run is split
 * by `groupOf` (the slot); elsewhere every channel shares one group.
 */

export type SubscriptionChange = 'subscribe' | 'unsubscribe'

/** Sends one command for these channels, all of one kind and one group. */
export type SendSubscriptionChange = (change: SubscriptionChange, channels: readonly string[]) => Promise<unknown>

/** Channels per command: a storm's worth in a few commands, none too large for Redis to parse at once. */
export const MAX_CHANNELS_PER_COMMAND = 1_000

/** The longest changes wait behind commands in flight; a Redis round trip is well under this. */
export const MAX_GATHER_MS = 10

interface Pending {
  readonly change: SubscriptionChange
  readonly channel: string
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

export class SubscriptionBatcher {
  #pending: Pending[] = []
  #flushQueued = false
  /** Commands sent and not yet answered. */
  #inFlight = 0
  /** Set while changes gather behind commands in flight: the cap on their wait. */
  #gatherTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly send: SendSubscriptionChange,
    private readonly groupOf: (channel: string) => number | string = () => '',
    /** When the gathered changes go out; the next turn of the event loop, after this one's I/O. */
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  /** Resolves once Redis confirmed the command that carried this change; rejects if it failed. */
  request(change: SubscriptionChange, channel: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ change, channel, resolve, reject })
      if (this.#flushQueued) return
      if (this.#inFlight === 0) this.#queueFlush()
      else this.#gatherTimer ??= setTimeout(() => this.flush(), MAX_GATHER_MS).unref()
    })
  }

  /** Sends what was gathered: one command per run of one kind, group and up to the channel limit. */
  flush(): void {
    this.#flushQueued = false
    clearTimeout(this.#gatherTimer)
    this.#gatherTimer = undefined
    const pending = this.#pending
    this.#pending = []
    for (const batch of commandsOf(pending, this.groupOf)) {
      const channels = batch.map((p) => p.channel)
      this.#inFlight += 1
      this.send(batch[0]!.change, channels).then(
        () => {
          for (const p of batch) p.resolve()
          this.#answered()
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error)
          this.#answered()
        },
      )
    }
  }

  #queueFlush(): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    this.schedule(() => this.flush())
  }

  /** A command was answered; once none is in flight, what gathered behind them goes out. */
  #answered(): void {
    this.#inFlight -= 1
    if (this.#inFlight === 0 && this.#pending.length > 0) this.#queueFlush()
  }
}

/**
 * Splits changes, in order, into commands: consecutive changes of one kind form a run, a run
 * is split by group in order of first appearance, and each group into commands of at most
 * {@link MAX_CHANNELS_PER_COMMAND}. Changes to one channel share its group, so their order holds.
 */
export function commandsOf<T extends { readonly change: SubscriptionChange; readonly channel: string }>(
  changes: readonly T[],
  groupOf: (channel: string) => number | string,
): T[][] {
  const commands: T[][] = []
  let start = 0
  while (start < changes.length) {
    let end = start
    while (end < changes.length && changes[end]!.change === changes[start]!.change) end++
    const groups = new Map<number | string, T[]>()
    for (let i = start; i < end; i++) {
      const change = changes[i]!
      const key = groupOf(change.channel)
      let group = groups.get(key)
      if (group === undefined) {
        group = []
        groups.set(key, group)
      }
      group.push(change)
    }
    for (const group of groups.values())
      for (let at = 0; at < group.length; at += MAX_CHANNELS_PER_COMMAND)
        commands.push(group.slice(at, at + MAX_CHANNELS_PER_COMMAND))
    start = end
  }
  return commands
}
