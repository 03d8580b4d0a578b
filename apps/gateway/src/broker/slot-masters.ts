/**
 * Which master serves each hash slot of a Redis Cluster, and which slots changed
 * master between two slots maps. A slot that moves (resharding, or a failover)
 * takes its shard channels with it: the old master drops their subscriptions,
 * and until the subscriber follows the slot, announcements made on the new
 * master reach no one here. Pure logic over ioredis's `Cluster.slots`.
 */

/** Per slot, the node key (`host:port`) of its master; ioredis lists the master first. */
export type SlotMasters = readonly (string | undefined)[]

export function slotMasters(slots: readonly (readonly string[] | undefined)[]): SlotMasters {
  return Array.from(slots, (nodes) => nodes?.[0])
}

/** The channels whose slot is served by another master in `after` than in `before`. */
export function movedChannels(
  before: SlotMasters,
  after: SlotMasters,
  channels: Iterable<string>,
  slotOf: (channel: string) => number,
): string[] {
  const moved: string[] = []
  for (const channel of channels) {
    const slot = slotOf(channel)
    if (before[slot] !== after[slot]) moved.push(channel)
  }
  return moved
}

/**
 * The role a node gives itself in its `INFO replication` (`master`, or `slave` for a replica),
 * or undefined if the reply has none.
 */
export function replicationRole(info: string): string | undefined {
  return /^role:(\w+)\r?$/m.exec(info)?.[1]
}

/** The replicas a master counts connected in its `INFO replication`, or undefined if the reply has none. */
export function connectedReplicas(info: string): number | undefined {
  const count = /^connected_slaves:(\d+)\r?$/m.exec(info)?.[1]
  return count === undefined ? undefined : Number(count)
}
