/**
 * Redis `WAIT` for publishes, one for all the publishes answered together. `WAIT` counts the
 * replicas that have every write the connection sent before it, so it must follow the
 * publish's `FCALL` on the same connection; one `WAIT` sent after several calls covers them
 * all. Publishes whose calls are answered in the same turn of the event loop therefore share
 * one, sent on the next tick, instead of each blocking the connection with its own (Redis
 * holds a connection's later commands while its `WAIT` blocks).
 *
 * The `WAIT` goes out in the turn that answered the calls, before any reconnect could put it
 * on a new connection, where it would count replicas of writes it never saw.
 *
 * In a cluster each master that took some of the writes is asked, and the weakest answer counts.
 * Only those: a shard with too few replicas (one failed over, or whose replica is away) would
 * otherwise fail every publish, to every shard, until it had its replicas back (10-17 s of
 * refusals on the healthy shards after a master was killed, in a black-box run).
 */

import type { Cluster, Redis } from 'ioredis'
import type { RedisClient } from './functions.js'

export class ReplicaWait {
  /** The `WAIT` not sent yet, which later callers still join. */
  #next: Promise<number> | undefined
  /** The hash slots the writes it covers went to (in a cluster). */
  #slots = new Set<number>()

  constructor(
    private readonly redis: RedisClient,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /**
   * How many replicas acknowledged the writes answered so far, to the hash `slots` given (in a
   * cluster, the weakest of their masters' counts).
   */
  acknowledged(slots: Iterable<number>): Promise<number> {
    for (const slot of slots) this.#slots.add(slot)
    this.#next ??= new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
      // Sent now: a caller from here on has writes this WAIT may not cover, so it needs the next one.
      this.#next = undefined
      const slots = this.#slots
      this.#slots = new Set()
      return this.#send(slots)
    })
    return this.#next
  }

  async #send(slots: ReadonlySet<number>): Promise<number> {
    const connections = 'nodes' in this.redis ? mastersOf(this.redis, slots) : [this.redis]
    const answers = await Promise.all(
      connections.map((connection) => connection.call('WAIT', this.replicas, this.timeoutMs)),
    )
    return Math.min(...answers.map(Number))
  }
}

/**
 * The masters the slots map names for `slots`: where the writes went, a MOVED redirection
 * included (ioredis writes the new owner into the map as it follows one). Every master if the
 * map names one the client holds no connection to.
 */
function mastersOf(cluster: Cluster, slots: ReadonlySet<number>): Redis[] {
  const masters = cluster.nodes('master')
  const named = new Set([...slots].map((slot) => cluster.slots[slot]?.[0]))
  const asked = masters.filter(({ options }) => named.has(`${options.host}:${options.port}`))
  return asked.length === named.size && asked.length > 0 ? asked : masters
}
