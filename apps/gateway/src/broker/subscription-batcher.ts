/**
 * Subscription changes gathered and sent as few commands as Redis allows:
 * one `SSUBSCRIBE a b c` instead of one command per stream. In a resume storm
 * thousands of streams arrive; their SSUBSCRIBEs, one write each, were the
 * largest item in the gateway's profile of the storm. When they go out is
 * {@link CommandGatherer}'s rule.
 *
 * Order is kept: changes go out in the order they were asked for, as runs of
 * the same kind, so a channel that is left and joined again ends subscribed.
 * In Redis Cluster one command's channels must share a slot, so a run is split
 * by `groupOf` (the slot); elsewhere every channel shares one group.
 */

import { CommandGatherer, splitByGroup } from './command-gatherer.js'

export { MAX_GATHER_MS } from './command-gatherer.js'

export type SubscriptionChange = 'subscribe' | 'unsubscribe'

/** Sends one command for these channels, all of one kind and one group. */
export type SendSubscriptionChange = (change: SubscriptionChange, channels: readonly string[]) => Promise<unknown>

/** Channels per command: a storm's worth in a few commands, none too large for Redis to parse at once. */
export const MAX_CHANNELS_PER_COMMAND = 1_000

interface Change {
  readonly change: SubscriptionChange
  readonly channel: string
}

export class SubscriptionBatcher {
  readonly #commands: CommandGatherer<Change, undefined>

  constructor(
    send: SendSubscriptionChange,
    groupOf: (channel: string) => number | string = () => '',
    /** When the gathered changes go out; the next turn of the event loop, after this one's I/O. */
    schedule?: (flush: () => void) => void,
  ) {
    this.#commands = new CommandGatherer<Change, undefined>(
      (changes) =>
        send(
          changes[0]!.change,
          changes.map((c) => c.channel),
        ).then(() => undefined),
      (changes) => commandsOf(changes, groupOf),
      schedule,
    )
  }

  /** Resolves once Redis confirmed the command that carried this change; rejects if it failed. */
  request(change: SubscriptionChange, channel: string): Promise<void> {
    return this.#commands.request({ change, channel })
  }

  /** Sends what was gathered: one command per run of one kind, group and up to the channel limit. */
  flush(): void {
    this.#commands.flush()
  }
}

/**
 * Splits changes, in order, into commands (as indices into `changes`): consecutive changes of
 * one kind form a run, a run is split by group in order of first appearance, and each group
 * into commands of at most {@link MAX_CHANNELS_PER_COMMAND}. Changes to one channel share its
 * group, so their order holds.
 */
export function commandsOf(changes: readonly Change[], groupOf: (channel: string) => number | string): number[][] {
  const commands: number[][] = []
  let start = 0
  while (start < changes.length) {
    let end = start
    while (end < changes.length && changes[end]!.change === changes[start]!.change) end++
    splitByGroup(changes, (c) => groupOf(c.channel), MAX_CHANNELS_PER_COMMAND, commands, start, end)
    start = end
  }
  return commands
}
