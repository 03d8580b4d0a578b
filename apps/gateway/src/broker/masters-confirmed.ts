/**
 * Whether the nodes a Cluster's slots map names for some channels are masters
 * by their own account. A master that a CLUSTER FAILOVER demotes drops its
 * shard subscriptions, and the map read that follows can still name it: as a
 * replica it takes the SSUBSCRIBE, but gets its shard's messages only over the
 * cluster bus once its new master counts it as a replica, and drops them
 * whenever that link is down. Channels caught up and released there lost, for
 * good, whatever came meanwhile (their streams' positions move past it with
 * the next live entry): 237 to 840 messages, in 4 of 8 runs of a test's
 * failovers.
 */

import { calculateSlot, settledWithin } from '@herald/publisher/internal'
import type { Cluster } from 'ioredis'
import { replicationRole } from './slot-masters.js'

/** The slots map still names a node that is no master now: a failover it has not caught up with. */
export class StaleSlotsMap extends Error {}

/**
 * Rejects unless every node the slots map names for `channels` is a master. Asked after the
 * SSUBSCRIBE, so a demotion after the answer drops the subscriptions again, in place. On a
 * stale map it starts a map read and rejects with StaleSlotsMap, for the caller to try again.
 */
export async function confirmMasters(
  subscriber: Cluster,
  channels: readonly string[],
  answerWithinMs: number,
): Promise<void> {
  const named = new Set(channels.map((channel) => subscriber.slots[calculateSlot(channel)]?.[0]))
  const nodes = subscriber.nodes('all')
  await Promise.all(
    [...named].map(async (key) => {
      const node = nodes.find(({ options }) => `${options.host}:${options.port}` === key)
      if (node === undefined) throw new Error(`the slots map names ${key ?? 'no node'}, which the client does not know`)
      // INFO, not ROLE: the gateway's documented ACL grants it. A node that stopped answering
      // would hold every later catch-up behind this one: a probe interval, then a retry.
      const info = await settledWithin(node.info('replication'), answerWithinMs)
      if (info === undefined) throw new Error(`${key} did not answer INFO within ${answerWithinMs} ms`)
      const role = replicationRole(info)
      if (role === 'master') return
      subscriber.refreshSlotsCache()
      throw new StaleSlotsMap(`the slots map names ${key}, which is a ${role ?? 'node of unknown role'} now`)
    }),
  )
}
