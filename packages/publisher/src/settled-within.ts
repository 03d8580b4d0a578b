/**
 * A bound on waiting for Redis: Redis that is stopped or wedged keeps its socket open, so
 * an answer may never come, and ioredis has no limit of its own on most waits.
 */

import type { Cluster, Redis } from 'ioredis'

/** The promise's outcome if it settles within `ms`, else `undefined` (the promise itself runs on). */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Closes a client: QUIT lets Redis answer what it was sent first; a connection that is not up
 * has nothing to answer, and a Redis that does not answer QUIT within `ms` (stopped, wedged) is
 * not waited for: the connection is dropped. A client found through Sentinels is disconnected
 * after its QUIT too: QUIT ends the connection to the master, but not the failover detector's
 * subscriptions to the Sentinels, which would keep the process alive for good.
 */
export async function quitWithin(client: Redis | Cluster, ms: number): Promise<void> {
  const quit =
    client.status === 'ready'
      ? client.quit().then(
          () => true,
          () => false,
        )
      : undefined
  const quitInTime = quit !== undefined && (await settledWithin(quit, ms)) === true
  if (!quitInTime || foundThroughSentinels(client)) client.disconnect()
}

function foundThroughSentinels(client: Redis | Cluster): boolean {
  return !client.isCluster && ((client as Redis).options.sentinels?.length ?? 0) > 0
}
