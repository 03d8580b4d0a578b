/**
 * The Redis broker: history in Redis Streams, announcements over sharded
 * Pub/Sub, both through Herald's Redis functions (see @herald/publisher and
 * docs/redis-contract.md). One subscriber connection per process (one per
 * master in a cluster, which sharded Pub/Sub requires), subscribed only to
 * the channels this node serves; no pattern subscriptions, so publishing
 * costs the same however many nodes there are.
 *
 * Redis drops what is published while a subscriber is disconnected. So when
 * the subscriber connection drops, the hub is told to hold live entries;
 * once it is back, this broker resubscribes every channel itself and only
 * then asks the hub to catch up from the Streams.
 *
 * The subscriber heals itself: a probe channel per shard (shard-probes.ts)
 * proves each one still delivers, and when a shard's probe is published but
 * not delivered, or a suspension does not end, for a few probe intervals, the
 * subscriber client is thrown away and rebuilt (fresh topology), every channel
 * resubscribed and caught up from the Streams.
 *
 * A publish waits for Redis at most PUBLISH_TIMEOUT_MS: a Redis that is stopped
 * or wedged keeps its sockets open, and nothing else would end the wait.
 */

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { StreamId } from '@herald/protocol'
import {
  HeraldPublisher,
  loadHeraldFunctions,
  PUBLISHING_CLIENT_OPTIONS,
  PublishError,
  type RedisClient,
} from '@herald/publisher'
import {
  calculateSlot,
  callHeraldFunction,
  channelKeyOfPubsub,
  channelSlot,
  createRedisClient,
  isRefusedByMigration,
  pubsubChannel,
  quitWithin,
  type RedisTarget,
  redisErrorMessage,
  settledWithin,
  streamKey,
  whenConnected,
} from '@herald/publisher/internal'
import { Cluster } from 'ioredis'
import type { Logger } from 'pino'
import { monotonicMs } from '../clock/monotonic-ms.js'
import { ConfigError, HeraldError } from '../errors/herald-error.js'
import { LogBurstLimit, REDIS_ERROR_LOG_BURST, REDIS_ERROR_LOG_WINDOW_MS } from '../log/log-burst-limit.js'
import { parseAnnouncement } from './announcement.js'
import type { Broker, BrokerOptions, BrokerSink, HistoryRead, PublishRequest } from './broker.js'
import { CommandGatherer, splitByGroup } from './command-gatherer.js'
import { type CareContext, countDrops, reviveWhenEnded } from './connection-care.js'
import { parseHistoryReply } from './history-reply.js'
import { LostProbeJudge } from './lost-probe-judge.js'
import { confirmMasters, StaleSlotsMap } from './masters-confirmed.js'
import { MovedChannels } from './moved-channels.js'
import { RedisUpkeep } from './redis-upkeep.js'
import { isProbeChannel, ProbeLedger, probeChannel, shardProbeChannels } from './shard-probes.js'
import { movedChannels, type SlotMasters, slotMasters } from './slot-masters.js'
import { MAX_CHANNELS_PER_COMMAND, SubscriptionBatcher } from './subscription-batcher.js'

export class RedisBroker implements Broker {
  readonly kind = 'redis'
  /** The publisher's deadline, and the replicas' WAIT on top of it. */
  readonly publishDeadlineMs: number
  readonly #commands: RedisClient
  /**
   * Where publishes go: a connection of their own, which never resends a command in flight
   * when it drops, and where a WAIT (waitForReplicas) blocks no stream setup, resume or
   * catch-up read: Redis holds every later command on a connection while its WAIT blocks.
   */
  readonly #publishing: RedisClient
  #subscriber: RedisClient
  readonly #publisher: HeraldPublisher
  /**
   * The channels this node wants, each with the number of the subscribe that last asked for it:
   * a subscribe that fails late (its connection was replaced) must not drop a channel that a
   * later subscribe has taken since.
   */
  readonly #channels = new Map<string, number>()
  #subscribes = 0
  /** The streams' SSUBSCRIBEs and SUNSUBSCRIBEs, a turn's worth per command (per slot in a cluster). */
  readonly #subscriptions: SubscriptionBatcher
  readonly #slotGroupOf: (keyOrChannel: string) => number | string
  /** Streams whose tail a new stream waits for, gathered into `herald_tails` calls. */
  readonly #tails: CommandGatherer<string, string | Error>
  #sink: BrokerSink | undefined
  #subscriberWasReady = false
  #suspended = false
  #suspendedAtMs = 0
  /** Bumped on every loss, so a resubscribe that a later loss overtook does not end the suspension. */
  #losses = 0
  /** Channels of this process's own, so the probes measure this subscriber's delivery. */
  readonly #probePrefix = randomBytes(8).toString('hex')
  readonly #probes: ProbeLedger
  #probeTimer: NodeJS.Timeout | undefined
  #probeOverdue = false
  /** The subscriber a resubscribe is waiting on: its readiness comes again on every retry of a cluster client. */
  #resubscribing: RedisClient | undefined
  /** The cluster subscriber's slots map as of its last refresh, to tell which slots moved. */
  #slotMasters: SlotMasters = []
  /** Channels whose slot moved, held until they are subscribed on the new master and caught up. */
  readonly #moved = new MovedChannels({
    subscribe: async (channelKeys) => {
      const subscriber = this.#subscriber
      if (subscriber.status !== 'ready') throw new Error(`the subscriber is ${subscriber.status}`)
      const channels = channelKeys.map(pubsubChannel)
      await this.#ssubscribeAll(subscriber, channels)
      if (subscriber instanceof Cluster) await confirmMasters(subscriber, channels, this.probe.intervalMs)
    },
    dropUnwanted: (channelKeys) => this.#dropUnwanted(channelKeys.map(pubsubChannel)),
    resync: async (channelKeys) => {
      await this.#sink?.resync(channelKeys)
    },
    wanted: (channelKey) => this.#channels.has(channelKey),
  })
  /** Channels a master unsubscribed in place since the last map refresh, held in #moved. */
  readonly #droppedInPlace = new Set<string>()
  /** Per-interval checks of the Redis servers: functions present, no eviction of Herald's keys. */
  readonly #upkeep: RedisUpkeep
  /** Probe channels a master unsubscribed in place, subscribed again after the map refresh. */
  readonly #droppedProbes = new Set<string>()
  /**
   * Channels left while the subscriber was away, with how many probe ticks more their SUNSUBSCRIBE
   * is sent again. A Cluster's sharded subscribers reconnect on their own and subscribe again what
   * ioredis listed when they went, a command that can land after this node's SUNSUBSCRIBE: the
   * channel stayed subscribed for nobody, and came back with every later reconnect.
   */
  readonly #owedUnsubscribes = new Map<string, number>()
  /** It became ready again while that resubscribe ran: one that gave up (a new loss) runs again. */
  #readyAgain = false
  /** Whether a lost probe rebuilds the subscriber now or waits for a fresh slots map first. */
  readonly #lostProbes = new LostProbeJudge()
  /** Connection errors repeat as fast as a client retries: a burst per window, then a count. */
  readonly #errorLog = new LogBurstLimit(REDIS_ERROR_LOG_BURST, REDIS_ERROR_LOG_WINDOW_MS, (held) =>
    this.logger.warn({ held, windowMs: REDIS_ERROR_LOG_WINDOW_MS }, 'more redis connection errors than logged'),
  )
  /** close() has begun: a client that ends now was ended on purpose. */
  #closing = false
  /** Redis's refusal of REDIS_URL's credentials, when that was the last connection error. */
  #refusedCredentials: string | undefined

  constructor(
    private readonly target: RedisTarget,
    private readonly options: BrokerOptions,
    private readonly logger: Logger,
    private readonly probe: PubsubProbeOptions = { intervalMs: 5000, onLatency: () => {}, onRebuild: () => {} },
    publishTimeoutMs: number = PUBLISH_TIMEOUT_MS,
  ) {
    this.publishDeadlineMs = publishTimeoutMs + (options.waitForReplicas?.timeoutMs ?? 0)
    // Commands fail fast while Redis is away (publishes get a clear 503, new streams are shed)
    // instead of piling up in an offline queue.
    // Each connection is named, so `CLIENT LIST` tells an operator which one is which.
    const commandOptions = {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      connectionName: 'herald-commands',
    }
    this.#commands = createRedisClient(target, commandOptions)
    this.#commands.on('error', (error: Error) => this.#connectionError(error))
    reviveWhenEnded(this.#commands, 'commands', this.#care(), () => {
      // A resubscribe that gave up on the commands connection meanwhile runs again.
      if (this.#suspended && this.#subscriber.status === 'ready') this.#onSubscriberReady()
    })
    countDrops(this.#commands, true, this.#care(), this.#onDrop)
    this.#upkeep = new RedisUpkeep(this.#commands, logger, options.waitForReplicas?.replicas ?? 0)
    // Publishes have a connection of their own that never resends a command in flight when it
    // drops (ioredis's default): Redis may have run it, and a resent publish runs twice.
    this.#publishing = createRedisClient(target, { ...PUBLISHING_CLIENT_OPTIONS, connectionName: 'herald-publishing' })
    // Its errors are the commands connection's too, and logged there.
    this.#publishing.on('error', () => {})
    reviveWhenEnded(this.#publishing, 'publishing', this.#care())
    countDrops(this.#publishing, false, this.#care(), this.#onDrop)
    this.#probes = new ProbeLedger(STALE_AFTER_INTERVALS * probe.intervalMs, REBUILD_AFTER_INTERVALS * probe.intervalMs)
    // A cluster's probes wait for its slots map; see #trackShardProbes.
    if (target.kind !== 'cluster') this.#probes.track([probeChannel(this.#probePrefix)], monotonicMs())
    this.#subscriber = this.#createSubscriber()
    // In a cluster, one command's keys or channels must share a slot; elsewhere any may go together.
    this.#slotGroupOf = target.kind === 'cluster' ? calculateSlot : () => ''
    this.#subscriptions = new SubscriptionBatcher((change, channels) => {
      const subscriber = this.#subscriber
      if (change === 'subscribe') return subscriber.ssubscribe(...channels).then(() => this.#dropUnwanted(channels))
      // Sent again once the subscriber is back (#owedUnsubscribes); not ready, it holds nothing now.
      if (this.#suspended || subscriber.status !== 'ready') this.#oweUnsubscribes(channels)
      return subscriber.status === 'ready' ? subscriber.sunsubscribe(...channels) : Promise.resolve()
    }, this.#slotGroupOf)
    // A reconnect storm's fresh streams in a few calls: one call (and one set of ioredis's
    // objects) per stream was about 1 KB of short-lived heap each, which V8 promoted in a burst.
    const readTails = async (streams: readonly string[]) =>
      (await callHeraldFunction(this.#commands, true, 'herald_tails', streams, [])) as readonly string[]
    this.#tails = new CommandGatherer<string, string | Error>(
      async (streams) => {
        try {
          return await readTails(streams)
        } catch (error) {
          // Refusals that are one key's, not the call's: while their slot migrates, the streams
          // of one call are not all on one side; and a key of the wrong type (written around
          // the functions) failed every stream opening beside it (78 of 200, in a probe). One
          // key a call then, so each stream gets its own key's answer.
          if (streams.length === 1 || !(isRefusedByMigration(error) || isWrongType(error))) throw error
          const each = await Promise.allSettled(streams.map(async (stream) => (await readTails([stream]))[0]!))
          return each.map((read) => (read.status === 'fulfilled' ? read.value : toError(read.reason)))
        }
      },
      (streams) => splitByGroup(streams, this.#slotGroupOf, MAX_KEYS_PER_TAILS_CALL),
    )
    this.#publisher = new HeraldPublisher({
      redis: this.#publishing,
      historyMaxLen: options.historyMaxLen,
      historyTtlSeconds: options.historyTtlSeconds,
      idempotencyTtlSeconds: options.idempotencyTtlSeconds,
      timeoutMs: publishTimeoutMs,
      waitForReplicas: options.waitForReplicas ?? null,
    })
  }

  async start(sink: BrokerSink, stopping?: AbortSignal): Promise<void> {
    this.#sink = sink
    this.#probeTimer = setInterval(() => this.#probeTick(), this.probe.intervalMs).unref()
    // Wait a while for Redis, but do not hang startup on it: a node that cannot reach Redis
    // yet listens, answers /healthz, fails /readyz and sheds streams until Redis is there.
    // A signal meanwhile ends the wait: a Ctrl-C waited out the 5 s, listened, and only then stopped.
    const connected = await Promise.race([
      Promise.all([whenReady(this.#commands), whenReady(this.#subscriber)]).then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), STARTUP_WAIT_MS).unref()),
      ...(stopping === undefined ? [] : [aborted(stopping)]),
    ])
    if (stopping?.aborted) return
    if (!connected) {
      // Reachable, but refusing REDIS_URL's credentials, is a different fix from a Redis not there.
      if (this.#refusedCredentials !== undefined) {
        this.logger.warn(
          { err: this.#refusedCredentials },
          this.#refusedCredentials.includes('NOAUTH')
            ? 'redis needs credentials REDIS_URL does not give; starting unready and retrying'
            : "redis refuses REDIS_URL's credentials; starting unready and retrying",
        )
      } else this.logger.warn('redis is not reachable yet; starting unready and retrying')
      return
    }
    try {
      // Bounded as the wait for Redis is, and ended by a signal too: a Redis (or a proxy) that
      // took the connection and never answered the load held startup, and Ctrl-C, for good.
      const load = loadHeraldFunctions(this.#commands).then(() => 'loaded' as const)
      const loaded = await settledWithin(
        Promise.race([load, ...(stopping === undefined ? [] : [aborted(stopping).then(() => 'stopped' as const)])]),
        STARTUP_WAIT_MS,
      )
      if (loaded === 'stopped') return
      if (loaded === undefined) {
        load.then(
          () => this.#upkeep.functionsLoaded(),
          () => undefined,
        )
        this.logger.warn(
          'redis has not answered the herald functions load within 5 s; starting, and loading it once redis answers',
        )
        return
      }
      this.#upkeep.functionsLoaded()
    } catch (error) {
      // A Redis user that may not load functions (NOPERM), or a library Redis will not compile
      // (ERR), is a setup to fix: startup fails saying so. Anything else passes: a full Redis
      // (OOM under noeviction) refused the load, and exiting crash-looped every new pod of a
      // rolling upgrade through the incident, though an older library serves (a rolling
      // upgrade either way is safe). The upkeep loads it once Redis takes it.
      // As configuration (exit 78): a supervisor that restarts a node after exit 1 would restart
      // this one for good, and no restart gives the user the grant.
      const message = (error as Error).message
      if (message.startsWith('NOPERM ')) {
        throw new ConfigError(
          'REDIS_URL',
          `its user may not load Herald's functions (${message}): grant it +function|load and +function|list, as docs/redis-contract.md lists`,
        )
      }
      if (message.startsWith('ERR ')) {
        throw new ConfigError(
          'REDIS_URL',
          `Redis refused Herald's functions library (${message}); Herald needs Redis 7 or later`,
        )
      }
      this.logger.warn(
        { err: message },
        'redis refused the herald functions library; starting, and loading it once redis takes it',
      )
    }
  }

  /**
   * Fails after publishTimeoutMs without an answer (the publisher's own deadline), or when Redis
   * fails it. The publisher's message says whether nothing was sent or the publish may have been
   * applied (the calls stay in flight, and Redis may still apply them when it wakes); a retry
   * with the same idempotency key cannot publish twice.
   */
  async publish(requests: readonly PublishRequest[]): Promise<string[]> {
    try {
      return await this.#publisher.publishEncoded(requests)
    } catch (error) {
      if (error instanceof PublishError && error.code === 'HERALD_ERR_REDIS') {
        throw new HeraldError('HERALD_ERR_BROKER_UNAVAILABLE', error.message, { cause: error })
      }
      throw error
    }
  }

  async subscribe(channelKey: string): Promise<void> {
    const subscribe = ++this.#subscribes
    this.#channels.set(channelKey, subscribe)
    try {
      await this.#subscriptions.request('subscribe', pubsubChannel(channelKey))
    } catch (error) {
      if (this.#channels.get(channelKey) === subscribe) this.#channels.delete(channelKey)
      // A Cluster client lists the channel as subscribed each time it sends the SSUBSCRIBE (again
      // after a MOVED), and a replaced subscriber subscribes every listed channel: one that Redis
      // refused, or that failed after its stream had left, was subscribed later for nobody, for
      // good. Unless a stream wants it now, a SUNSUBSCRIBE takes it off that list.
      this.#dropUnwanted([pubsubChannel(channelKey)])
      throw error
    }
  }

  async unsubscribe(channelKey: string): Promise<void> {
    this.#channels.delete(channelKey)
    await this.#subscriptions.request('unsubscribe', pubsubChannel(channelKey))
  }

  async tail(channelKey: string): Promise<string> {
    const tail = await this.#tails.request(streamKey(channelKey))
    if (tail instanceof Error) throw tail
    return tail
  }

  async readAfter(channelKey: string, after: StreamId, limit: number, maxBytes?: number): Promise<HistoryRead> {
    const args = [`${after.ms}-${after.seq}`, limit, this.options.historyTtlSeconds]
    if (maxBytes !== undefined) args.push(maxBytes)
    const reply = await callHeraldFunction(this.#commands, true, 'herald_read', [streamKey(channelKey)], args)
    return parseHistoryReply(reply as string[])
  }

  /**
   * Connected, subscribed, and proven to deliver on every shard: a subscriber that stays
   * connected but stops receiving (seen after failovers) fails its shard's probe, and with
   * it readiness.
   */
  isAvailable(): boolean {
    return (
      this.#commands.status === 'ready' &&
      this.#subscriber.status === 'ready' &&
      !this.#suspended &&
      this.#probes.channels().length > 0 &&
      !this.#probesOverdue(monotonicMs())
    )
  }
  /**
   * Whether a shard's probe is overdue, logged the first time it is found so: by readiness (a
   * /readyz that fails says why in the log at once) or by the probe tick, whichever asks first.
   */
  #probesOverdue(now: number): boolean {
    const overdue = this.#probes.stale(now).length > 0
    if (overdue && !this.#probeOverdue) {
      this.#probeOverdue = true
      this.logger.warn('pubsub probe overdue: delivery has stopped; readiness fails until it is back')
    }
    return overdue
  }

  canPublish(): boolean {
    return this.#publishing.status === 'ready'
  }

  #connectionError(error: Error): void {
    this.probe.onConnectionError?.()
    const message = redisErrorMessage(error)
    this.#refusedCredentials = isCredentialsRefusal(message) ? message : undefined
    if (!this.#errorLog.take()) return
    const hint = this.#hintFor(error, message)
    this.logger.warn(hint === undefined ? { err: message } : { err: message, hint }, 'redis connection error')
  }

  /** What an operator should look at, where ioredis's own words do not say it. */
  #hintFor(error: Error, message: string): string | undefined {
    // A rediss:// client facing a plaintext port sends its TLS hello and waits: the server reads
    // it as an unfinished command and answers nothing, so all ioredis reports is the timeout.
    if (
      (error as { code?: unknown }).code === 'ETIMEDOUT' &&
      this.target.kind === 'standalone' &&
      this.target.url.startsWith('rediss:')
    )
      return TLS_TIMEOUT_HINT
    // ioredis's parser meeting bytes Redis never sends (an HTTP server's answer) asks to be reported as its own bug.
    if (message.includes('Unknown RESP type')) return NOT_REDIS_HINT
    return undefined
  }

  async close(): Promise<void> {
    this.#closing = true
    clearInterval(this.#probeTimer)
    this.#errorLog.flush()
    this.#sink = undefined
    // A stopped Redis (SIGSTOP, a wedged host) keeps its sockets and never answers QUIT: a
    // shutdown must still end within the orchestrator's grace period.
    const clients = new Set([this.#commands, this.#publishing, this.#subscriber])
    await Promise.all([...clients].map((client) => quitWithin(client, CLOSE_WAIT_MS)))
  }

  /** A subscriber client whose events count only while it is the current one. */
  #createSubscriber(): RedisClient {
    const subscriber = createRedisClient(this.target, {
      autoResubscribe: false,
      enableOfflineQueue: false,
      connectionName: 'herald-subscriber',
      // A subscription change that meets a closed connection fails, and is not sent again later:
      // a stream's SUNSUBSCRIBE resent behind the next stream's SSUBSCRIBE left that stream deaf.
      // Nothing is lost by failing it: a new connection holds only what is subscribed again.
      retryOnClosedConnection: false,
    })
    const on = (event: string, handler: () => void) =>
      subscriber.on(event, () => {
        if (subscriber === this.#subscriber) handler()
      })
    subscriber.on('smessage', (channel: string, message: string) => {
      if (subscriber === this.#subscriber) this.#onMessage(channel, message)
    })
    if (subscriber instanceof Cluster) {
      // Sharded subscribers are one connection per master; ioredis reports losing one as
      // '-node' or '-subscriber' and having resubscribed them all as 'subscribersReady'.
      // Its connection pool, which only reads the slots map here, reports '-node' too, without
      // a node key, when a map read drops a node: a master removed from the cluster
      // (`redis-cli --cluster del-node`) is no lost subscriber, and no 'subscribersReady' would
      // end the suspension it caused; the node was held, and unready, until its rebuild.
      subscriber.on('-node', (_node: unknown, nodeKey?: string) => {
        if (subscriber === this.#subscriber && nodeKey !== undefined) this.#onSubscriberLost()
      })
      // A master handed over by CLUSTER FAILOVER stays up, so no '-node': its subscriber is just
      // replaced, and what was published while none listened must be caught up too.
      on('-subscriber', () => this.#onSubscriberLost())
      on('subscribersReady', () => this.#onSubscriberReady())
      on('refresh', () => void this.#onTopology())
      subscriber.on('sunsubscribed', (channel: string) => {
        if (subscriber === this.#subscriber) this.#onDroppedInPlace(channel)
      })
    } else {
      on('close', () => this.#onSubscriberLost())
      on('ready', () => this.#onSubscriberReady())
    }
    subscriber.on('error', (error: Error) => this.#connectionError(error))
    const care = this.#care(() => subscriber === this.#subscriber)
    reviveWhenEnded(subscriber, 'subscriber', care)
    countDrops(subscriber, true, care, this.#onDrop)
    return subscriber
  }

  /** What connection-care.ts needs to know of this broker, for one client. */
  #care(current: () => boolean = () => true): CareContext {
    return { logger: this.logger, closing: () => this.#closing, current }
  }

  readonly #onDrop = (): void => this.probe.onConnectionError?.()

  /** A cluster's probe channels, one per master of its current slots map; kept channels keep their state. */
  #trackShardProbes(subscriber: RedisClient): void {
    if (!(subscriber instanceof Cluster)) return
    const channels = shardProbeChannels(this.#probePrefix, subscriber.slots)
    if (channels.length > 0) this.#probes.track(channels, monotonicMs())
  }

  /**
   * A master dropped one of this node's subscriptions by itself, without the slot changing master:
   * Redis 7.0 drops a slot's shard subscriptions whenever the slot is set, to its own owner too
   * (`CLUSTER SETSLOT <slot> NODE`, which ends every slot's move in a reshard, on every master).
   * The slots map then shows nothing to follow, so ioredis resubscribes nothing, and the channel
   * went silent until its streams reconnected. It is held and caught up as a moved one, after
   * the map refresh ioredis starts for it (#onTopology); a probe channel is subscribed again.
   */
  #onDroppedInPlace(channel: string): void {
    if (this.#closing) return
    if (this.#probes.channels().includes(channel)) {
      this.#droppedProbes.add(channel)
      return
    }
    const channelKey = channelKeyOfPubsub(channel)
    if (channelKey === undefined || !this.#channels.has(channelKey)) return
    // A suspension's next resubscribe round covers every channel.
    if (this.#suspended) {
      this.#losses += 1
      return
    }
    this.#droppedInPlace.add(channelKey)
    this.#sink?.hold([channelKey])
    this.#moved.add([channelKey], monotonicMs())
  }

  /** The slots map changed: probe the new masters too (a suspension's resubscribe will, if one is on). */
  async #onTopology(): Promise<void> {
    const subscriber = this.#subscriber
    if (subscriber instanceof Cluster) this.#followSlotMoves(subscriber)
    this.#resubscribeDroppedInPlace(subscriber)
    const before = this.#probes.channels()
    this.#trackShardProbes(subscriber)
    // A cluster reads its first map while connecting, after its subscribers announced themselves
    // ready: #subscribeProbes subscribes every probe once it is ready, as a resubscribe does.
    if (!this.#subscriberWasReady || this.#suspended || subscriber.status !== 'ready') return
    const after = this.#probes.channels()
    try {
      await Promise.all([
        ...after.filter((channel) => !before.includes(channel)).map((channel) => subscriber.ssubscribe(channel)),
        ...before.filter((channel) => !after.includes(channel)).map((channel) => subscriber.sunsubscribe(channel)),
      ])
    } catch (error) {
      this.#probeSubscribeFailed(error)
    }
  }

  /**
   * A slot that changed master (resharding, a failover) took its channels' subscriptions along: the
   * old master dropped them, and what was announced on the new one before this client subscribes
   * there, or during the move by ASK redirection, reached no one here. Those channels alone are
   * held; the readiness ioredis announces once it has followed the new map (after this refresh)
   * subscribes them on the new master and catches them up from the Streams. The others go on
   * live and the node stays ready. A refresh during a suspension counts as a loss again: the
   * resubscribe under way may have used the old map, and its next round covers every channel.
   */
  #followSlotMoves(subscriber: Cluster): void {
    const before = this.#slotMasters
    const after = slotMasters(subscriber.slots)
    this.#slotMasters = after
    if (before.length === 0 || !this.#subscriberWasReady) return
    const moved = movedChannels(before, after, this.#channels.keys(), channelSlot)
    if (moved.length === 0) return
    if (this.#suspended) {
      this.#losses += 1
      return
    }
    this.logger.info({ channels: moved.length }, 'redis cluster slots moved; holding their channels until caught up')
    this.#sink?.hold(moved)
    this.#moved.add(moved, monotonicMs())
  }

  /** Logged unless the node is closing: a Ctrl-C while a Cluster client connects fails them all. */
  #probeSubscribeFailed(error: unknown): void {
    if (this.#closing) return
    this.logger.warn({ err: (error as Error).message }, 'probe subscribe failed; the probe check will rebuild')
  }

  /** After the refresh that followed subscriptions dropped in place: those channels back, caught up. */
  #resubscribeDroppedInPlace(subscriber: RedisClient): void {
    if (this.#suspended || subscriber.status !== 'ready') return
    if (this.#droppedInPlace.size > 0) {
      this.logger.info(
        { channels: this.#droppedInPlace.size },
        'redis dropped subscriptions in place; holding their channels until caught up',
      )
      this.#droppedInPlace.clear()
      void this.#catchUpMovedChannels()
    }
    const probes = [...this.#droppedProbes].filter((channel) => this.#probes.channels().includes(channel))
    this.#droppedProbes.clear()
    for (const channel of probes) {
      subscriber.ssubscribe(channel).catch((error: Error) => {
        this.#probeSubscribeFailed(error)
      })
    }
  }

  async #catchUpMovedChannels(): Promise<void> {
    const startedAtMs = monotonicMs()
    const heldBeforeMs = this.#moved.heldForMs(startedAtMs)
    const { caughtUp, failed } = await this.#moved.catchUp()
    // Until released, the catch-up's own time included: a round can wait on its master's answers.
    const heldMs = heldBeforeMs + (monotonicMs() - startedAtMs)
    if (caughtUp > 0) this.logger.info({ channels: caughtUp, heldMs }, 'channels of moved slots caught up from streams')
    // A map read that lags a failover is expected, and its channels stay held: no warning.
    if (failed !== undefined)
      this.logger[failed instanceof StaleSlotsMap ? 'info' : 'warn'](
        { err: failed.message },
        'moved channels not resubscribed yet; trying again at the next readiness or probe tick',
      )
  }

  /**
   * An SSUBSCRIBE answered for channels nobody here wants any more is undone. ioredis resends a
   * command that was in flight when its connection dropped, after the reconnect; the stream that
   * asked was closed by the suspension meanwhile, and its SUNSUBSCRIBE skipped (not connected).
   * Left alone, Redis would send this node that channel's traffic for nobody.
   */
  #dropUnwanted(channels: readonly string[]): void {
    for (const channel of channels) {
      const channelKey = channelKeyOfPubsub(channel)
      if (channelKey === undefined || this.#channels.has(channelKey)) continue
      this.#subscriptions.request('unsubscribe', channel).catch(() => {
        // Disconnected again: the next resubscribe subscribes only what is wanted.
      })
    }
  }

  #oweUnsubscribes(channels: readonly string[]): void {
    for (const channel of channels) this.#owedUnsubscribes.set(channel, OWED_UNSUBSCRIBE_TICKS)
  }

  /** Sends again the SUNSUBSCRIBEs owed for channels still wanted by nobody (SUNSUBSCRIBE is idempotent). */
  #payOwedUnsubscribes(): void {
    if (this.#owedUnsubscribes.size === 0 || this.#suspended || this.#subscriber.status !== 'ready') return
    const owed: string[] = []
    for (const [channel, ticks] of this.#owedUnsubscribes) {
      owed.push(channel)
      if (ticks <= 1) this.#owedUnsubscribes.delete(channel)
      else this.#owedUnsubscribes.set(channel, ticks - 1)
    }
    this.#dropUnwanted(owed)
  }

  async #subscribeProbes(): Promise<void> {
    const subscriber = this.#subscriber
    try {
      // A cluster reports its sharded subscribers ready before the cluster itself is.
      await whenReady(subscriber)
      this.#trackShardProbes(subscriber)
      await Promise.all(this.#probes.channels().map((channel) => subscriber.ssubscribe(channel)))
      this.#probes.restart(monotonicMs())
    } catch (error) {
      this.#probeSubscribeFailed(error)
    }
  }

  /**
   * Every interval: rebuild a subscriber that is stuck, retry a failed catch-up of moved
   * channels, put back a functions library that went missing, then publish the next probes.
   */
  #probeTick(): void {
    const now = monotonicMs()
    this.#rebuildIfStuck(now)
    if (!this.#suspended && this.#moved.retryDue()) void this.#catchUpMovedChannels()
    this.#payOwedUnsubscribes()
    this.#probesOverdue(now)
    this.#upkeep.check()
    const message = this.#probes.message(now)
    for (const channel of this.#probes.channels()) {
      this.#commands.spublish(channel, message).then(
        () => this.#probes.acknowledged(channel, message),
        () => {
          // Redis is away; the probe goes stale and readiness reports it.
        },
      )
    }
  }

  #rebuildIfStuck(now: number): void {
    if (!this.#subscriberWasReady) return
    const movedHeldMs = this.#moved.heldForMs(now)
    if (!this.#suspended && movedHeldMs >= REBUILD_AFTER_INTERVALS * this.probe.intervalMs) {
      // Retried every tick and still refused: this client's routing is not to be trusted, and a
      // connection that is up announces no readiness, so a suspension alone would wait for the
      // rebuild below. A fresh client's first ready resubscribes every channel and catches up.
      this.#rebuildSubscriber({ movedHeldMs })
      return
    }
    if (this.#suspended) {
      // Only while Redis answers on every shard: during a failover a rebuilt client would find the
      // dead master in the slots map and retry it just the same.
      const limit = REBUILD_AFTER_INTERVALS * this.probe.intervalMs
      if (now - this.#suspendedAtMs >= limit && this.#probes.acknowledgedSince(now - limit))
        this.#rebuildSubscriber({ suspendedMs: now - this.#suspendedAtMs })
      return
    }
    const lost = this.#probes.lost(now)
    const subscriber = this.#subscriber
    const action = this.#lostProbes.next(
      lost.length > 0,
      this.#probes.everyDeliveredAtMs(),
      subscriber instanceof Cluster,
    )
    if (action === 'read-slots' && subscriber instanceof Cluster) {
      this.logger.info(
        { probesLost: lost.length },
        'pubsub probe lost; reading the slots map before judging the subscriber',
      )
      // The map's 'refresh' (#onTopology) moves a probe whose slot moved before this runs.
      subscriber.refreshSlotsCache(() => {
        if (subscriber !== this.#subscriber) return
        this.#probes.forgetUndelivered()
        this.#lostProbes.slotsRead(monotonicMs())
      })
    }
    if (action === 'kept') this.logger.info('pubsub probes delivering after the slots map was read; subscriber kept')
    if (action === 'rebuild')
      this.#rebuildSubscriber({ probesLost: lost.length, probes: this.#probes.channels().length })
  }

  /**
   * The subscriber is broken in a way its client does not report (a shard's subscription dropped
   * silently, or a reconnect that never completes): hold live delivery, replace the client, and
   * let its first ready resubscribe every channel and catch up from the Streams.
   */
  #rebuildSubscriber(why: Record<string, number>): void {
    this.logger.warn(
      { ...why, channels: this.#channels.size },
      'redis subscriber stuck; rebuilding it, then resubscribing and catching up from streams',
    )
    this.probe.onRebuild()
    this.#lostProbes.reset()
    this.#suspend()
    const broken = this.#subscriber
    this.#subscriber = this.#createSubscriber()
    broken.disconnect()
  }

  #onMessage(channel: string, message: string): void {
    if (isProbeChannel(channel)) {
      // Never an entry; a probe channel no longer tracked (an earlier topology's) is ignored.
      if (!this.#probes.delivered(channel, message, monotonicMs(), this.probe.onLatency)) return
      if (this.#probeOverdue && this.#probes.stale(monotonicMs()).length === 0) {
        this.#probeOverdue = false
        this.logger.info('pubsub probe delivering again')
      }
      return
    }
    const channelKey = channelKeyOfPubsub(channel)
    const entry = parseAnnouncement(message)
    if (channelKey === undefined || entry === undefined) {
      this.logger.warn({ channel }, 'ignored a malformed announcement')
      return
    }
    this.#sink?.deliver(channelKey, entry)
  }

  #onSubscriberLost(why = 'redis subscriber lost; holding live delivery until it is back'): void {
    // A shutdown's own QUIT ends the subscriber too: no loss, and nothing left to hold.
    if (!this.#subscriberWasReady || this.#closing) return
    if (this.#suspended) {
      this.#losses += 1
      return
    }
    this.logger.warn({ channels: this.#channels.size }, why)
    this.#suspend()
  }

  #suspend(): void {
    this.#losses += 1
    // The resync after a suspension catches every channel up, the moved ones included.
    this.#moved.clear()
    this.#droppedInPlace.clear()
    // A rebuild restarts the clock, so a subscriber gets as long to come back as the first one had.
    this.#suspendedAtMs = monotonicMs()
    if (this.#suspended) return
    this.#suspended = true
    this.#sink?.suspend()
  }

  #onSubscriberReady(): void {
    if (!this.#subscriberWasReady) {
      this.#subscriberWasReady = true
      void this.#subscribeProbes()
      return
    }
    if (!this.#suspended) {
      void this.#catchUpMovedChannels()
      return
    }
    // A cluster client announces its subscribers ready on every retry, well before it is
    // ready itself: one resubscribe waits for it, not one (and one listener) per retry. A
    // readiness that comes meanwhile is remembered: the running one gives up after a new loss.
    if (this.#resubscribing === this.#subscriber) {
      this.#readyAgain = true
      return
    }
    const subscriber = this.#subscriber
    this.#resubscribing = subscriber
    this.#readyAgain = false
    void this.#resubscribeAndResync().finally(() => {
      if (this.#resubscribing !== subscriber) return
      this.#resubscribing = undefined
      if (this.#readyAgain && subscriber === this.#subscriber) this.#onSubscriberReady()
    })
  }

  /**
   * Subscribes `channels` in as few SSUBSCRIBEs as the batcher sends: one per slot in a cluster,
   * up to a thousand channels each elsewhere. One per channel was 12,978 commands written in one
   * turn of the event loop (641 ms on a loaded host, in a probe) on a node with 3,000 streams.
   */
  async #ssubscribeAll(subscriber: RedisClient, channels: readonly string[]): Promise<void> {
    const commands = splitByGroup(channels, this.#slotGroupOf, MAX_CHANNELS_PER_COMMAND)
    await Promise.all(commands.map((command) => subscriber.ssubscribe(...command.map((at) => channels[at]!))))
  }

  async #resubscribeAndResync(): Promise<void> {
    const subscriber = this.#subscriber
    const losses = this.#losses
    try {
      await whenReady(subscriber)
      this.#trackShardProbes(subscriber)
      const served = [...this.#channels.keys()].map(pubsubChannel)
      const channels = [...served, ...this.#probes.channels()]
      await this.#ssubscribeAll(subscriber, channels)
      if (subscriber instanceof Cluster) await confirmMasters(subscriber, channels, this.probe.intervalMs)
      await whenReady(this.#commands)
      // Lost again (or replaced) meanwhile: what that loss missed waits for the next ready.
      if (losses !== this.#losses || subscriber !== this.#subscriber || !this.#suspended) return
      this.#suspended = false
      this.#probes.restart(monotonicMs())
      this.#payOwedUnsubscribes()
      const closed = (await this.#sink?.resync()) ?? 0
      // The hub warned of the channels it could not catch up; this line must not say all were.
      // It counts the streams' channels, as the line that held them did, not the probes.
      if (closed === 0)
        this.logger.info({ channels: served.length }, 'redis subscriber back; channels caught up from streams')
      else
        this.logger.info(
          { channels: served.length, closed },
          'redis subscriber back; channels caught up from streams, but for those whose streams were closed to resume',
        )
    } catch (error) {
      if (subscriber !== this.#subscriber || this.#closing) return
      if (error instanceof StaleSlotsMap) {
        // A map that only caught up with a failover brings no new readiness: the round runs
        // again after a probe interval, its channels held meanwhile.
        this.logger.info({ err: error.message }, 'resubscribe waits for a slots map that names the new masters')
        setTimeout(() => {
          if (subscriber === this.#subscriber && this.#suspended) this.#onSubscriberReady()
        }, this.probe.intervalMs).unref()
        return
      }
      // The connection dropped again (or this client was replaced): its next 'ready' retries,
      // or the probe check rebuilds it. A connection that closed under the round is one ioredis
      // connects again, announcing readiness for the next round: debug, as the loss was logged
      // (killing every master's subscribers in turn warned 1.7 times a round for nothing).
      const closed = (error as Error).message === CONNECTION_CLOSED
      this.logger[closed ? 'debug' : 'warn']({ err: (error as Error).message }, 'resubscribe failed')
    }
  }
}

/**
 * How long a publish waits for Redis: well under a publisher's own HTTP timeout, so it gets a
 * 503 rather than retrying blind, and well over a healthy publish of a full batch (milliseconds).
 */
const PUBLISH_TIMEOUT_MS = 3_000
/** How ioredis fails a command whose connection closed (its CONNECTION_CLOSED_ERROR_MSG). */
const CONNECTION_CLOSED = 'Connection is closed.'
/** Why a rediss:// connection can time out with nothing else said. */
const TLS_TIMEOUT_HINT = 'no TLS handshake completed (rediss://): check that this Redis port serves TLS'
/** Why the parser saw bytes Redis never sends. */
const NOT_REDIS_HINT =
  'the server at this address did not answer in the Redis protocol: check that REDIS_URL names a Redis port'
/** Streams per `herald_tails` call: a storm's worth in a few calls, none that holds Redis up for long. */
const MAX_KEYS_PER_TAILS_CALL = 500
/** How long a shutdown waits for Redis to answer QUIT before it drops the connections. */
const CLOSE_WAIT_MS = 1_000
/** How long startup waits for Redis before going on unready. */
const STARTUP_WAIT_MS = 5_000

/** Redis answered, but not to these credentials: a wrong password, or none where one is needed. */
function isCredentialsRefusal(message: string): boolean {
  return /\b(WRONGPASS|NOAUTH)\b/.test(message)
}

/** Resolves once `signal` is aborted. */
function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : once(signal, 'abort').then(() => undefined)
}

/** Redis refused a command for a key holding another type than the command's. */
function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE')
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}

/** Probe intervals without a delivery after which a shard counts as not delivering (readiness fails). */
const STALE_AFTER_INTERVALS = 3
/** Probe intervals a suspension, or a published but undelivered probe, may last before the subscriber is rebuilt. */
const REBUILD_AFTER_INTERVALS = 5
/** Probe ticks after the subscriber is back on which a channel left while it was away is unsubscribed again. */
const OWED_UNSUBSCRIBE_TICKS = 3

export interface PubsubProbeOptions {
  readonly intervalMs: number
  readonly onLatency: (seconds: number) => void
  /** The subscriber was found stuck and is being rebuilt. */
  readonly onRebuild: () => void
  /** A connection of the commands or the subscriber client failed (each retry's failure too). */
  readonly onConnectionError?: () => void
}

/** Resolves once the client is ready; rejects if it ends first (closed, or to be connected again). */
function whenReady(client: RedisClient): Promise<void> {
  // Connection errors do not count: ioredis retries, and this waits for as long as it does.
  return whenConnected(client, Number.POSITIVE_INFINITY)
}
