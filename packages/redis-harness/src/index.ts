/**
 * Real redis-server processes for integration tests: standalone servers, a cluster and a
 * sentinel setup, each on free loopback ports in its own temp dir, which tests can kill, restart
 * and fail over. Every process is killed when the test process exits, and so is any other a
 * caller hands to trackPid.
 */
export type { RedisCluster, StartRedisClusterOptions } from './cluster.js'
export { ownedSlots, startRedisCluster } from './cluster.js'
export { freePort } from './free-port.js'
export { type PollOptions, pollUntil } from './poll.js'
export type { RedisServer } from './redis-server.js'
export { trackDir, trackPid, untrackDir, untrackPid } from './registry.js'
export type { Address, RedisSentinelSetup } from './sentinel.js'
export { startRedisSentinel } from './sentinel.js'
export type { StartRedisOptions } from './standalone.js'
export { startRedis, startReplicaOf } from './standalone.js'
export { subscribedClients, untilSubscribedClients } from './subscribed-clients.js'
export { untilAccepting } from './until-accepting.js'
