/**
 * Requests to Redis gathered and sent as few commands as Redis allows: one
 * `SSUBSCRIBE a b c`, or one `FCALL_RO herald_tails 3 a b c`, instead of one
 * command (and one socket write, one Redis wakeup, and ioredis's objects for
 * it) per stream. In a reconnect storm thousands of streams arrive at once.
 *
 * When requests go out: on the next turn of the event loop if no command is
 * waiting for its answer; otherwise once the commands in flight are answered,
 * as Nagle's rule holds back small segments. A node that is busy takes about one
 * request per turn, so "a turn's worth" alone was one request a command; waiting
 * for the round trip in flight gathers what arrives meanwhile. A quiet node
 * sends at once. The wait is capped ({@link MAX_GATHER_MS}): a command in flight
 * when the connection drops is only resent after a reconnect, and may never be
 * answered if the client is replaced, and new requests must not wait on it.
 */

/** The longest requests wait behind commands in flight; a Redis round trip is well under this. */
export const MAX_GATHER_MS = 10

/**
 * Sends one command for these requests; resolves to one result per request, in order, or to
 * `undefined` when a command has nothing to tell each one but that it succeeded.
 */
export type SendCommand<Item, Result> = (items: readonly Item[]) => Promise<readonly Result[] | undefined>

/** How gathered requests split into commands: each command as the requests' indices, in order. */
export type SplitIntoCommands<Item> = (items: readonly Item[]) => readonly (readonly number[])[]

interface Pending<Item, Result> {
  readonly item: Item
  readonly resolve: (result: Result) => void
  readonly reject: (error: unknown) => void
}

export class CommandGatherer<Item, Result> {
  #pending: Pending<Item, Result>[] = []
  #flushQueued = false
  /** Commands sent and not yet answered. */
  #inFlight = 0
  /** Set while requests gather behind commands in flight: the cap on their wait. */
  #gatherTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly send: SendCommand<Item, Result>,
    private readonly split: SplitIntoCommands<Item>,
    /** When the gathered requests go out; the next turn of the event loop, after this one's I/O. */
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  /** Resolves with this request's result once Redis answered the command that carried it; rejects if it failed. */
  request(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject })
      if (this.#flushQueued) return
      if (this.#inFlight === 0) this.#queueFlush()
      else this.#gatherTimer ??= setTimeout(() => this.flush(), MAX_GATHER_MS).unref()
    })
  }

  /** Sends what was gathered, as `split` divides it. */
  flush(): void {
    this.#flushQueued = false
    clearTimeout(this.#gatherTimer)
    this.#gatherTimer = undefined
    const pending = this.#pending
    this.#pending = []
    for (const command of this.split(pending.map((p) => p.item))) {
      const batch = command.map((index) => pending[index]!)
      this.#inFlight += 1
      this.send(batch.map((p) => p.item)).then(
        (results) => {
          for (let at = 0; at < batch.length; at++) batch[at]!.resolve(results?.[at] as Result)
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
 * Splits the requests from `start` to `end` by group, in order of first appearance, and each
 * group into commands of at most `max`, appending them to `commands`. In Redis Cluster one
 * command's keys or channels must share a slot, so the group is the slot; elsewhere one group.
 */
export function splitByGroup<Item>(
  items: readonly Item[],
  groupOf: (item: Item) => number | string,
  max: number,
  commands: number[][] = [],
  start = 0,
  end = items.length,
): number[][] {
  const groups = new Map<number | string, number[]>()
  for (let i = start; i < end; i++) {
    const key = groupOf(items[i]!)
    let group = groups.get(key)
    if (group === undefined) {
      group = []
      groups.set(key, group)
    }
    group.push(i)
  }
  for (const group of groups.values())
    for (let at = 0; at < group.length; at += max) commands.push(group.slice(at, at + max))
  return commands
}
