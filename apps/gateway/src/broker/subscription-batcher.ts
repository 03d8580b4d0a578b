/**
 * Subscription changes gathered per event-loop turn and sent as few
 * commands as Redis allows: one `SSUBSCRIBE a b c` instead of one command
 * (and one socket write, and one Redis wakeup) per stream. In a resume storm
 * thousands of streams arrive in one turn; their SSUBSCRIBEs, one write each,
 * were the largest item in the gateway's profile of the storm.
 *
 * Order is kept: changes go out in the order they were asked for, as runs of
 * the same kind, so a channel that is left and joined again in one turn ends
 * subscribed. In Redis Cluster one command's channels must share a slot, so a
 * run is split by `groupOf` (the slot); elsewhere every channel shares one group.
 */

export type SubscriptionChange = 'subscribe' | 'unsubscribe'

/** Sends one command for these channels, all of one kind and one group. */
export type SendSubscriptionChange = (change: SubscriptionChange, channels: readonly string[]) => Promise<unknown>

/** Channels per command: a storm's worth in a few commands, none too large for Redis to parse at once. */
export const MAX_CHANNELS_PER_COMMAND = 1_000

interface Pending {
  readonly change: SubscriptionChange
  readonly channel: string
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

export class SubscriptionBatcher {
  #pending: Pending[] = []
  #scheduled = false

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
      if (this.#scheduled) return
      this.#scheduled = true
      this.schedule(() => this.flush())
    })
  }

  /** Sends what was gathered: one command per run of one kind, group and up to the channel limit. */
  flush(): void {
    this.#scheduled = false
    const pending = this.#pending
    this.#pending = []
    for (const batch of commandsOf(pending, this.groupOf)) {
      const channels = batch.map((p) => p.channel)
      this.send(batch[0]!.change, channels).then(
        () => {
          for (const p of batch) p.resolve()
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error)
        },
      )
    }
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
