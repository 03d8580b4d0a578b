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
 */

import type { RedisClient } from './functions.js'

export class ReplicaWait {
  /** The `WAIT` not sent yet, which later callers still join. */
  #next: Promise<number> | undefined

  constructor(
    private readonly redis: RedisClient,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /** How many replicas acknowledged the writes answered so far (the weakest master's count in a cluster). */
  acknowledged(): Promise<number> {
    this.#next ??= new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
      // Sent now: a caller from here on has writes this WAIT may not cover, so it needs the next one.
      this.#next = undefined
      return this.#send()
    })
    return this.#next
  }

  /** A cluster client holds one connection per master, so each master is asked; the weakest answer counts. */
  async #send(): Promise<number> {
    const connections = 'nodes' in this.redis ? this.redis.nodes('master') : [this.redis]
    const answers = await Promise.all(
      connections.map((connection) => connection.call('WAIT', this.replicas, this.timeoutMs)),
    )
    return Math.min(...answers.map(Number))
  }
}
