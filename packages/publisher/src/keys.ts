/**
 * Redis key names for a channel. The channel key (`u:<user>` / `t:<topic>`)
 * is the hash tag, so a channel's stream, shard channel and idempotency keys
 * all live in one slot of a Redis Cluster. Names cannot contain `{` or `}`
 * (see @herald/protocol's name rules), so no name can move a key to another slot.
 */

import clusterKeySlot from 'cluster-key-slot'

/**
 * The Redis Cluster hash slot (0 to 16383) of a key, honouring its `{hash tag}`, as ioredis routes
 * it. A function of this package's own, so its declaration needs no types of that module's.
 */
export function calculateSlot(key: string): number {
  return clusterKeySlot(key)
}

/** The hash slot all of a channel's keys live in. */
export function channelSlot(channelKey: string): number {
  return calculateSlot(streamKey(channelKey))
}

/** `herald:{u:alice}:s`: the channel's Stream (bounded history). */
export function streamKey(channelKey: string): string {
  return `herald:{${channelKey}}:s`
}

/** `herald:{u:alice}:c`: the channel's shard Pub/Sub channel (SPUBLISH / SSUBSCRIBE). */
export function pubsubChannel(channelKey: string): string {
  return `herald:{${channelKey}}:c`
}

/** `herald:{u:alice}:i:<key>`: remembers the entry id of an idempotency key. */
export function idempotencyKey(channelKey: string, key: string): string {
  return `herald:{${channelKey}}:i:${key}`
}

/** The channel key back from a pubsub channel name, or `undefined` if it is not one of Herald's. */
export function channelKeyOfPubsub(channel: string): string | undefined {
  if (!channel.startsWith('herald:{') || !channel.endsWith('}:c')) return undefined
  return channel.slice(8, -3)
}
