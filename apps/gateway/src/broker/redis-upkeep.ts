/**
 * Checks of the Redis servers themselves, once per probe interval, on every
 * master: Herald's functions are still loaded, Redis may not evict Herald's
 * keys, and it has the replicas PUBLISH_WAIT_REPLICAS waits for. None concerns
 * one connection's state, so it lives apart from the broker's subscriber
 * bookkeeping.
 */

import { isFunctionMissing, loadHeraldFunctions, type RedisClient } from '@herald/publisher'
import { Cluster, type Redis } from 'ioredis'
import type { Logger } from 'pino'
import { evictingPolicy } from './eviction-policy.js'
import { connectedReplicas } from './slot-masters.js'

export class RedisUpkeep {
  /** Masters, by address, last found able to evict Herald's keys (warned once each). */
  readonly #evicting = new Set<string>()
  /** Masters, by address, last found with fewer replicas than publishes wait for (warned once each). */
  readonly #shortOfReplicas = new Set<string>()

  /** `requiredReplicas`: PUBLISH_WAIT_REPLICAS, the replicas a publish waits for (0: none). */
  constructor(
    private readonly commands: RedisClient,
    private readonly logger: Logger,
    private readonly requiredReplicas = 0,
  ) {}

  /** Starts both checks on every master; their answers arrive later, and a Redis that is away is skipped. */
  check(): void {
    for (const master of this.#masters()) {
      this.#restoreMissingFunctions(master)
      this.#checkEvictionPolicy(master)
      if (this.requiredReplicas > 0) this.#checkReplicas(master)
    }
  }

  /**
   * Loads the library again on a master that lost it (FUNCTION FLUSH, a node replaced without
   * its data): this node's own calls would reload it when they fail, but a backend that
   * publishes with FCALL directly, in any language, cannot, and would fail until one did.
   */
  #restoreMissingFunctions(master: Redis): void {
    master.call('FCALL_RO', 'herald_tails', 0).catch((error: unknown) => {
      if (!isFunctionMissing(error)) return
      loadHeraldFunctions(this.commands).then(
        () => this.logger.info({ redis: nodeAddress(master) }, 'herald functions were gone from redis; loaded again'),
        (failed: unknown) =>
          this.logger.warn(
            { redis: nodeAddress(master), err: (failed as Error).message },
            'herald functions are gone from redis, and loading them failed; retried next probe interval',
          ),
      )
    })
  }

  /**
   * Warns, once per master and again after it was fixed, while Redis may evict Herald's keys
   * (eviction-policy.ts): nothing else would tell, since what is evicted goes silently.
   */
  #checkEvictionPolicy(master: Redis): void {
    const address = nodeAddress(master)
    master.info('memory').then(
      (info: string) => {
        const evicting = evictingPolicy(info)
        if (evicting !== undefined && !this.#evicting.has(address)) {
          this.#evicting.add(address)
          this.logger.warn(
            { redis: address, maxmemoryPolicy: evicting.policy, maxmemory: evicting.maxmemoryBytes },
            'redis may evict herald keys under memory pressure, losing history and idempotency keys silently; set maxmemory-policy noeviction',
          )
        } else if (evicting === undefined && this.#evicting.delete(address)) {
          this.logger.info({ redis: address }, 'redis no longer evicts herald keys')
        }
      },
      () => {
        // Redis is away: the broker's probes report that.
      },
    )
  }

  /**
   * Warns, once per master and again after it was fixed, while a master has fewer replicas
   * than publishes wait for: it is ready and serves streams, but answers every publish to it
   * 503 HERALD_ERR_NOT_REPLICATED, retries too, and nothing else says why.
   */
  #checkReplicas(master: Redis): void {
    const address = nodeAddress(master)
    master.info('replication').then(
      (info: string) => {
        const connected = connectedReplicas(info)
        if (connected === undefined) return
        if (connected < this.requiredReplicas && !this.#shortOfReplicas.has(address)) {
          this.#shortOfReplicas.add(address)
          this.logger.warn(
            { redis: address, connectedReplicas: connected, publishWaitReplicas: this.requiredReplicas },
            'redis master has fewer replicas than PUBLISH_WAIT_REPLICAS; every publish to it is answered 503 HERALD_ERR_NOT_REPLICATED',
          )
        } else if (connected >= this.requiredReplicas && this.#shortOfReplicas.delete(address)) {
          this.logger.info({ redis: address, connectedReplicas: connected }, 'redis master has its replicas again')
        }
      },
      () => {
        // Redis is away: the broker's probes report that.
      },
    )
  }

  #masters(): Redis[] {
    return this.commands instanceof Cluster ? this.commands.nodes('master') : [this.commands]
  }
}

/** A node's address for logs: where its connection goes (a Sentinel's master too), else its options'. */
function nodeAddress(node: Redis): string {
  const { remoteAddress, remotePort } = node.stream ?? {}
  return remoteAddress === undefined ? `${node.options.host}:${node.options.port}` : `${remoteAddress}:${remotePort}`
}
