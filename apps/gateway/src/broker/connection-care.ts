/**
 * Care for the broker's Redis clients beyond what ioredis does itself: a
 * client that ends without being closed is connected again, and a clean drop
 * (no 'error' event) is still counted as a connection failure.
 */

import type { RedisClient } from '@herald/publisher'
import type { Logger } from 'pino'

export interface CareContext {
  readonly logger: Logger
  /** The broker is closing: clients that end now were ended on purpose. */
  readonly closing: () => boolean
  /** Whether this client is still in use (a rebuilt subscriber's predecessor is not). */
  readonly current: () => boolean
}

/** How long a client that ended without being closed waits before it connects again. */
const REVIVE_AFTER_MS = 1_000

/**
 * A client ends only when the broker quits it, or drops a rebuilt subscriber; one that ends
 * otherwise would never reconnect (ioredis 6 ended a Sentinel client whose reconnect a failover
 * interrupted), and the node would stay unready, or refuse every publish, for good. It is
 * connected again after a pause, and logged once until it is ready again, when `onBack` runs.
 */
export function reviveWhenEnded(client: RedisClient, connection: string, care: CareContext, onBack = () => {}): void {
  let logged = false
  for (const state of ['connect', 'ready', 'close', 'reconnecting', 'end'] as const)
    client.on(state, () => care.logger.debug({ connection, state }, 'redis connection state'))
  client.on('ready', () => {
    if (!logged) return
    logged = false
    care.logger.info({ connection }, 'redis connection back after it had ended')
    onBack()
  })
  client.on('end', () => {
    if (care.closing() || !care.current()) return
    if (!logged) care.logger.error({ connection }, 'redis connection ended without being closed; connecting it again')
    logged = true
    setTimeout(() => {
      if (care.closing() || !care.current() || client.status !== 'end') return
      client.connect().catch(() => {
        // It ends again, and this runs again; or it reconnects by itself.
      })
    }, REVIVE_AFTER_MS).unref()
  })
}

/**
 * Calls `onDrop` when a connection that was ready closes without an error counted for it: a
 * socket that ends cleanly (CLIENT KILL, a Redis shut down, a proxy closing it) emits no
 * 'error', and the connection-errors metric missed every such drop, the flaps `herald_redis_up`
 * cannot show. `errorsCounted` says whether the client's 'error' events are counted already:
 * then a close that follows an error is not counted twice.
 */
export function countDrops(client: RedisClient, errorsCounted: boolean, care: CareContext, onDrop: () => void): void {
  let uncounted = false
  client.on('ready', () => {
    uncounted = true
  })
  if (errorsCounted)
    client.on('error', () => {
      uncounted = false
    })
  client.on('close', () => {
    if (!uncounted || care.closing() || !care.current()) return
    uncounted = false
    onDrop()
  })
}
