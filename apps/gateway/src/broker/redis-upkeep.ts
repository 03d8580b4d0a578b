/**
 * Checks of the Redis servers themselves, once per probe interval, on every
 * master: Herald's functions are still loaded (and, every few intervals, not
 * older than this node's), Redis may not evict Herald's keys, and it has the
 * replicas PUBLISH_WAIT_REPLICAS waits for. None concerns
 * one connection's state, so it lives apart from the broker's subscriber
 * bookkeeping.
 */

import { FUNCTION_LIBRARY_VERSION, loadHeraldFunctions, type RedisClient } from '@herald/publisher'
import { installedHeraldVersion, isFunctionMissing } from '@herald/publisher/internal'
import { Cluster, type Redis } from 'ioredis'
import type { Logger } from 'pino'
import { evictingPolicy } from './eviction-policy.js'
import { connectedReplicas } from './slot-masters.js'

export class RedisUpkeep {
  /** Masters, by address, last found able to evict Herald's keys (warned once each). */
  readonly #evicting = new Set<string>()
  /** Masters, by address, last found with fewer replicas than publishes wait for (warned once each). */
  readonly #shortOfReplicas = new Set<string>()
  /**
   * Whether this node has seen the library loaded. Ticks start before the node's startup load,
   * and one that found it missing then logged "gone; loaded again" for a Redis that never had it.
   */
  #loadedBefore = false
  /** Checks so far: the library's version is read on every VERSION_CHECK_EVERY-th. */
  #checks = 0

  /** `requiredReplicas`: PUBLISH_WAIT_REPLICAS, the replicas a publish waits for (0: none). */
  constructor(
    private readonly commands: RedisClient,
    private readonly logger: Logger,
    private readonly requiredReplicas = 0,
  ) {}

  /** The node loaded the library (at startup): one missing from now on went. */
  functionsLoaded(): void {
    this.#loadedBefore = true
  }

  /** Starts both checks on every master; their answers arrive later, and a Redis that is away is skipped. */
  check(): void {
    const readVersion = this.#checks++ % VERSION_CHECK_EVERY === 0
    for (const master of this.#masters()) {
      this.#restoreMissingFunctions(master)
      if (readVersion) this.#replaceOlderFunctions(master)
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
      const gone = this.#loadedBefore
      loadHeraldFunctions(this.commands).then(
        () => {
          this.#loadedBefore = true
          if (gone)
            this.logger.info({ redis: nodeAddress(master) }, 'herald functions were gone from redis; loaded again')
        },
        (failed: unknown) =>
          this.logger.warn(
            { redis: nodeAddress(master), err: (failed as Error).message },
            'herald functions are gone from redis, and loading them failed; retried next probe interval',
          ),
      )
    })
  }

  /**
   * Loads this node's library over an older one. Whichever loader comes first after the library
   * went (FUNCTION FLUSH, a restart without persistence, a replaced Cluster master) loads its own
   * version, and an older gateway or publisher still running in a rolling upgrade put the older
   * one back, which newer nodes then ran on, silently, until one of them restarted.
   */
  #replaceOlderFunctions(master: Redis): void {
    installedHeraldVersion(master)
      .then(async (found) => {
        if (found === undefined || found >= FUNCTION_LIBRARY_VERSION) return
        await loadHeraldFunctions(this.commands)
        this.logger.info(
          { redis: nodeAddress(master), found, loaded: FUNCTION_LIBRARY_VERSION },
          "herald functions on redis were older than this node's; replaced",
        )
      })
      // A Redis that is away, or an ACL without FUNCTION LIST or LOAD: the next read tries again.
      .catch(() => {})
  }

  /**
   * Warns while Redis may evict Herald's keys (eviction-policy.ts): nothing else would tell,
   * since what is evicted goes silently.
   */
  #checkEvictionPolicy(master: Redis): void {
    this.#warnWhile(
      master,
      'memory',
      this.#evicting,
      (info) => {
        const evicting = evictingPolicy(info)
        if (evicting === undefined) return { found: false, fields: {} }
        return { found: true, fields: { maxmemoryPolicy: evicting.policy, maxmemory: evicting.maxmemoryBytes } }
      },
      {
        found:
          'redis may evict herald keys under memory pressure, losing history and idempotency keys silently; set maxmemory-policy noeviction',
        gone: 'redis no longer evicts herald keys',
      },
    )
  }

  /**
   * Warns while a master has fewer replicas than publishes wait for: it is ready and serves
   * streams, but answers every publish to it 503 HERALD_ERR_NOT_REPLICATED, retries too, and
   * nothing else says why.
   */
  #checkReplicas(master: Redis): void {
    this.#warnWhile(
      master,
      'replication',
      this.#shortOfReplicas,
      (info) => {
        const connected = connectedReplicas(info)
        if (connected === undefined) return undefined
        const found = connected < this.requiredReplicas
        return {
          found,
          fields: found
            ? { connectedReplicas: connected, publishWaitReplicas: this.requiredReplicas }
            : { connectedReplicas: connected },
        }
      },
      {
        found:
          'redis master has fewer replicas than PUBLISH_WAIT_REPLICAS; every publish to it is answered 503 HERALD_ERR_NOT_REPLICATED',
        gone: 'redis master has its replicas again',
      },
    )
  }

  /**
   * Reads a master's INFO `section` and logs a warning, once per master and again after it was
   * fixed, while `judge` finds the problem there (`warned` holds the masters warned of), and an
   * info line once it is gone. `judge` answers undefined when the reply cannot tell. A Redis
   * that is away is skipped: the broker's probes report that.
   */
  #warnWhile(
    master: Redis,
    section: string,
    warned: Set<string>,
    judge: (info: string) => { found: boolean; fields: Record<string, unknown> } | undefined,
    messages: { found: string; gone: string },
  ): void {
    const address = nodeAddress(master)
    master.info(section).then(
      (info: string) => {
        const verdict = judge(info)
        if (verdict === undefined) return
        if (verdict.found && !warned.has(address)) {
          warned.add(address)
          this.logger.warn({ redis: address, ...verdict.fields }, messages.found)
        } else if (!verdict.found && warned.delete(address)) {
          this.logger.info({ redis: address, ...verdict.fields }, messages.gone)
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

/** Probe intervals between two reads of the library's version: the read carries its whole code (about 24 KB). */
const VERSION_CHECK_EVERY = 12

/** A node's address for logs: where its connection goes (a Sentinel's master too), else its options'. */
function nodeAddress(node: Redis): string {
  const { remoteAddress, remotePort } = node.stream ?? {}
  return remoteAddress === undefined ? `${node.options.host}:${node.options.port}` : `${remoteAddress}:${remotePort}`
}
