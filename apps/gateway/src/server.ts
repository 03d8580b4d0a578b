/**
 * Starting and stopping a gateway: build the services from a config, listen,
 * hand each request to its route, run the two shared timers (heartbeats and
 * token expiry), and shut down in order: turn new streams away, close streams,
 * stop accepting, close the broker.
 */

import { createServer, type IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { getHeapStatistics } from 'node:v8'
import { getRequestListener } from '@hono/node-server'
import type { Logger } from 'pino'
import { createTokenVerifier } from './auth/token-verifier.js'
import type { Broker } from './broker/broker.js'
import { MemoryBroker } from './broker/memory-broker.js'
import { RedisBroker } from './broker/redis-broker.js'
import { ConfigProblems, type GatewayConfig } from './config/config.js'
import { unsentBudgetProblem } from './config/heap-budget.js'
import { fileLimitProblem, socketBudgetFromFileLimit } from './config/open-file-limit.js'
import { ConfigError, HeraldError } from './errors/herald-error.js'
import { logRequest } from './http/access-log.js'
import { createApp, PUBLISH_PATH } from './http/app.js'
import { corsHeaders } from './http/cors.js'
import { closeIfBodyUnread, errorReply, writeErrorReply } from './http/error-reply.js'
import { EVENTS_PATH, eventsRoute } from './http/events-route.js'
import { listenOnPort } from './http/listen-sockets.js'
import { MAX_WAITING_ANSWERS, whenAnswerable } from './http/pipelined-requests.js'
import { headerValue } from './http/raw-headers.js'
import { refusedRoute } from './http/refused-route.js'
import { MAX_HEADER_FIELDS, readTarget } from './http/request-target.js'
import type { GatewayServices } from './http/services.js'
import { shedBaseDelayMs } from './http/shed.js'
import { SocketBudget } from './http/socket-budget.js'
import { answerUnmetExpectation, answerUnparsedRequest, endAndDestroy } from './http/unparsed-request.js'
import { ConnectionBudget } from './hub/connection-budget.js'
import { drainSchedule } from './hub/drain.js'
import { HeartbeatSweep } from './hub/heartbeat-sweep.js'
import { Hub, type LiveBacklogBounds } from './hub/hub.js'
import { QuietPositions } from './hub/quiet-positions.js'
import type { SseConnection } from './hub/sse-connection.js'
import { StreamExpiry } from './hub/stream-expiry.js'
import { TokenBucket } from './hub/token-bucket.js'
import { type LogBurstLimit, SHED_LOG_BURST, SHED_LOG_WINDOW_MS, warningBurstLimit } from './log/log-burst-limit.js'
import { createLogger } from './log/logger.js'
import { Metrics } from './metrics/metrics.js'

const EXPIRY_SWEEP_MS = 1000
/** What a shutdown gives requests in flight beyond the broker's publish deadline. */
const SHUTDOWN_GRACE_MS = 1000
/** How often a drain looks whether every stream has gone already. */
const DRAIN_CHECK_MS = 100

export interface Gateway {
  /** `http://host:port`, with the port actually bound; a wildcard address reads as 127.0.0.1. */
  readonly url: string
  /** The address and port actually bound, as `host:port` (`0.0.0.0:8080`, `[::1]:8080`). */
  readonly address: string
  readonly services: GatewayServices
  /**
   * Graceful shutdown: readiness fails and new streams are turned away, while the listener
   * stays open for probes and those refusals; streams are closed spread over the drain
   * window with jittered retry hints (the drain ends early once none is left), then `close()`.
   */
  drain(): Promise<void>
  close(): Promise<void>
}

export interface StartOptions {
  readonly logger?: Logger
  /** Overrides the broker the config selects; for tests that share one. */
  readonly broker?: Broker
  /** How long a request, head and body, may take to arrive (408 past it); tests shorten it. */
  readonly requestTimeoutMs?: number
  /** How far behind live delivery may fall (hub.ts, LIVE_BACKLOG_BOUNDS); tests shorten it. */
  readonly liveBacklogBounds?: LiveBacklogBounds
  /**
   * Aborted by a signal while the node starts: the start stops waiting for Redis, closes the
   * broker and rejects with {@link StartStopped}, without ever listening.
   */
  readonly stopping?: AbortSignal
}

/** A start that `StartOptions.stopping` ended before the node listened. */
export class StartStopped extends Error {
  constructor() {
    super('stopped before it started')
    this.name = 'StartStopped'
  }
}

/**
 * A minute for a whole request, as for its head: Node's 300 s default let a publish whose body
 * trickles in hold its connection five minutes. Node looks at this period's half, so the 408
 * comes between one and one and a half of it after the request began.
 */
const REQUEST_TIMEOUT_MS = 60_000

export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.secrets)
  let hub: Hub | undefined
  let broker: Broker | undefined
  const metrics = new Metrics({
    currentConnections: () => hub?.connectionCount ?? 0,
    currentChannels: () => hub?.channelCount ?? 0,
    currentUnsentBytes: () => hub?.unsentBytes ?? 0,
    currentLiveBacklogAgeMs: () => hub?.liveBacklogAgeMs ?? 0,
    brokerUp: () => broker?.isAvailable() ?? false,
    maxConnections: config.maxConnections,
    keysFromJwks: config.jwt.key.kind === 'jwks',
  })
  broker = options.broker ?? createBroker(config, logger, metrics)
  hub = new Hub(broker, metrics, logger, config.retryMs, options.liveBacklogBounds)
  await broker.start(hub, options.stopping).catch((error: unknown) => {
    throw error instanceof ConfigError ? new ConfigProblems([error]) : error
  })
  if (options.stopping?.aborted) {
    await broker.close()
    throw new StartStopped()
  }
  // Node counts each listening socket's connections (`_connections`, as its own maxConnections does).
  const openSockets = () =>
    servers.reduce((open, server) => open + (server as typeof server & { _connections: number })._connections, 0)
  const sockets = clientSocketBudget(config, metrics, logger, openSockets)
  const services: GatewayServices = {
    config,
    broker,
    hub,
    budget: new ConnectionBudget(config.maxConnections, config.maxConnectionsPerUser),
    sockets: sockets?.budget,
    connectionRate: new TokenBucket(config.connectionRatePerSecond, config.connectionRateBurst, Date.now()),
    expiry: new StreamExpiry<SseConnection>(EXPIRY_SWEEP_MS, (connection) => connection.close('token_expired')),
    metrics,
    logger,
    // Sheds come in storms (a reconnect wave after a restart): a burst of lines per window.
    shedLog: warningBurstLimit(logger, SHED_LOG_BURST, SHED_LOG_WINDOW_MS, 'more streams were shed than logged'),
    // An outage fails every publish and every stream in setup: each request's own line says so.
    brokerFailureLog: warningBurstLimit(logger, SHED_LOG_BURST, SHED_LOG_WINDOW_MS, 'more broker failures than logged'),
    // A stalled proxy or a saturated link cuts many streams at once.
    slowConsumerLog: warningBurstLimit(
      logger,
      SHED_LOG_BURST,
      SHED_LOG_WINDOW_MS,
      'more slow-consumer cuts than logged',
    ),
    verifyToken: createTokenVerifier(config.jwt, logger, metrics),
    lifecycle: { draining: false },
  }
  // The event stream is served on Node's objects directly; Hono routes everything else.
  const events = eventsRoute(services)
  const app = getRequestListener(createApp(services).fetch)
  // Set once listening, before any request arrives.
  let origin = ''
  /** Requests other than streams that are not answered yet: a shutdown lets them finish. */
  const answering = new Set<ServerResponse>()
  /** A refusal answered before any route ran, counted as the route's own refusals are. */
  const countRefusal = (method: string, url: string): void => {
    const route = refusedRoute(method, url)
    if (route === 'publish') services.metrics.publishRefused('bad_request')
    else if (route === 'stream') services.metrics.connectionRejected('bad_request')
  }
  const dispatch = (request: IncomingMessage, response: ServerResponse, expectsContinue: boolean): void => {
    const started = performance.now()
    // Node's parser stops reading a connection after a request that asks to upgrade it (h2c,
    // WebSocket), even when no one takes the upgrade: a request pipelined behind it was never
    // read nor answered, and the client waited for the keep-alive timeout (66 s; found by a
    // probe). Answered with Connection: close, refusals included, the client knows at once.
    if (headerValue(request.rawHeaders, 'upgrade') !== undefined) response.shouldKeepAlive = false
    const target = readTarget(request)
    if (target instanceof HeraldError) {
      // Unanswered, a body would be read to reach the next request; and past Node's count of
      // header fields, the one that declares a body may be among those it dropped.
      if (target.code === 'HERALD_ERR_HEADERS_TOO_LARGE') response.shouldKeepAlive = false
      else closeIfBodyUnread(request, response)
      const reply = errorReply(target, logger)
      const cors = corsHeaders(headerValue(request.rawHeaders, 'origin'), config.corsAllowedOrigins)
      writeErrorReply(response, reply, cors)
      countRefusal(request.method ?? '', request.url ?? '')
      logRequest(logger, request.method ?? '', request.url ?? '', '', reply.status, started, {
        code: reply.body.error.code,
      })
      return
    }
    // The publish route sends its own 100 once the key and the size have passed (app.ts): a
    // client with a wrong key learns it before sending the body.
    if (expectsContinue && !(request.method === 'POST' && target.path === PUBLISH_PATH)) response.writeContinue()
    // A draining node is about to close its connections: it says so on every answer (a stream
    // turned away as draining too), so a proxy that keeps connections to it (nginx's keepalive)
    // retires this one, instead of sending a publish down it as the node closes it, which nginx
    // does not retry and answers with a 502. A stream's own answer always says so (events-route.ts).
    if (services.lifecycle.draining) response.shouldKeepAlive = false
    if (request.method === 'GET' && target.path === EVENTS_PATH) {
      if (target.absolute) request.url = target.path + target.search
      events(request, response)
      return
    }
    answering.add(response)
    response.once('close', () => answering.delete(response))
    // Hono sees the path and query under the listening address, whatever Host said (see readTarget).
    request.url = origin + target.path + target.search
    app(request, response)
  }
  const pipeliningLog = warningBurstLimit(
    logger,
    SHED_LOG_BURST,
    SHED_LOG_WINDOW_MS,
    'more connections were closed for pipelining than logged',
  )
  const dispatchInTurn = (request: IncomingMessage, response: ServerResponse, expectsContinue: boolean): void => {
    sockets?.budget.requestArrived(request.socket)
    whenAnswerable(
      request.socket,
      response,
      () => dispatch(request, response, expectsContinue),
      () =>
        logger.debug({ method: request.method }, 'pipelined request dropped: its connection closed before its turn'),
      () => {
        if (pipeliningLog.take())
          logger.warn(
            { waiting: MAX_WAITING_ANSWERS },
            'closed a connection that pipelined more requests than it read answers to',
          )
      },
    )
  }
  // One HTTP server per listening socket (listen-sockets.ts), all serving the same routes.
  const servers = Array.from({ length: config.listenSockets }, () => {
    // Host is checked by readTarget, so that a request without one gets a JSON answer too.
    const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
    const server = createServer(
      {
        requireHostHeader: false,
        requestTimeout,
        headersTimeout: requestTimeout,
        connectionsCheckingInterval: requestTimeout / 2,
      },
      (request, response) => dispatchInTurn(request, response, false),
    )
    // Node's default (2000 as pairs of entries) made explicit: readTarget refuses what reaches it.
    server.maxHeadersCount = MAX_HEADER_FIELDS
    if (sockets !== undefined) server.on('connection', sockets.budget.accepted)
    server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
      // Node holds `100 Continue` back for any Expect that lists 100-continue, others beside it
      // (`100-continue, foo`) too: an expectation this server cannot meet, as a lone `foo` is.
      if (!ONLY_CONTINUE.test(request.headers.expect ?? '')) {
        countRefusal(request.method ?? '', request.url ?? '')
        answerUnmetExpectation(request, response, logger)
        return
      }
      dispatchInTurn(request, response, true)
    })
    server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
      countRefusal(request.method ?? '', request.url ?? '')
      answerUnmetExpectation(request, response, logger)
    })
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
      answerUnparsedRequest(error, socket, logger, countRefusal),
    )
    // Node gives a CONNECT to 'connect' listeners only, and without one drops the socket
    // unanswered and unlogged. Herald is no proxy: it answers CONNECT as any other method a path
    // does not take (405, or 400 for a host:port target), on a response of its own, and closes.
    server.on('connect', (request: IncomingMessage, socket: Socket) => {
      // Node hands the socket over with no 'error' listener of its own left on it: a reset or
      // an EPIPE on it after this was an uncaught 'error' that took the node down (found by a
      // fuzz probe, a few resets in). The socket is done with either way.
      socket.on('error', () => socket.destroy())
      // Pipelined behind a request still being answered (a stream, a publish waiting on Redis),
      // the CONNECT cannot be answered in its turn: Node has stopped parsing the socket, and
      // assigning it a second response throws ERR_HTTP_SOCKET_ASSIGNED out of this listener,
      // which took the whole node down (one unauthenticated write; found by a probe). The
      // answers ahead of it are written, and then the connection closes, the CONNECT unanswered.
      const ahead = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
      if (ahead) {
        ahead.shouldKeepAlive = false
        ahead.once('close', () => endAndDestroy(socket))
        return
      }
      const response = new ServerResponse(request)
      response.shouldKeepAlive = false
      response.assignSocket(socket)
      // Destroyed once answered: ended only, a client that keeps its side open held the
      // descriptor for good, busy in the socket budget (a probe filled a node's limit so).
      response.on('finish', () => endAndDestroy(socket))
      dispatch(request, response, false)
    })
    server.keepAliveTimeout = 65_000
    // A client may send its request and then its FIN (HTTP/1.0 style, `nc -N`, `end(request)`
    // in Node). By default Node then drops the requests in flight and ends the socket, so a
    // publish waiting on Redis was stored and delivered but never answered, and its client sent
    // it again. Half-open, requests in flight are answered and the socket ends after the last
    // answer (Node's own tests set this too); an idle connection still ends at once, and a
    // stream ends with the FIN (hub/sse-connection.ts).
    ;(server as typeof server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true
    return server
  })
  const bound = await listenOnPort(servers, config).catch((error: NodeJS.ErrnoException) => {
    throw listenProblem(error, config)
  })

  const heartbeats = new HeartbeatSweep(config.heartbeatIntervalMs, services.hub.connections)
  let lastSweepMs = performance.now()
  const heartbeat = setInterval(() => {
    const now = performance.now()
    heartbeats.tick(now - lastSweepMs)
    lastSweepMs = now
  }, heartbeats.tickMs)
  heartbeat.unref()
  const unsentCheck = setInterval(() => {
    const { streams, bytes } = services.hub.cutOverUnsentBudget(config.maxUnsentBytes)
    if (streams > 0)
      logger.warn(
        { streams, bytes, maxUnsentBytes: config.maxUnsentBytes },
        'streams cut as slow consumers: all streams together held more than MAX_UNSENT_BYTES',
      )
  }, UNSENT_CHECK_MS)
  unsentCheck.unref()
  const quietPositions = new QuietPositions(config.historyTtlSeconds, services.hub, broker, logger)
  const quietTimer = setInterval(() => {
    quietPositions.tick().catch((error: unknown) => logger.warn({ err: error }, 'quiet position check failed'))
  }, quietPositions.tickMs)
  quietTimer.unref()

  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  const address = `${host}:${bound.port}`
  // A wildcard address is every interface: the URL names this host's loopback in its family.
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host
  const url = `http://${local}:${bound.port}`
  origin = url
  // The address as bound (0.0.0.0 is every interface), and a URL this host can reach it at.
  logger.info(
    { address, url, broker: broker.kind, maxConnections: config.maxConnections, listenSockets: config.listenSockets },
    'gateway listening',
  )
  // Outside --dev a missing or misspelt REDIS_URL would otherwise pass for a working fleet:
  // each node ready, each alone, with publishes reaching only the tabs of the node that took them.
  if (broker.kind === 'memory' && !config.dev)
    logger.warn(
      { broker: broker.kind },
      'no REDIS_URL: this node runs on the embedded in-memory broker, alone; it shares no history or publishes with other nodes and keeps none across a restart',
    )
  const fileLimit = fileLimitProblem(config.maxConnections, config.openFileLimit)
  if (fileLimit !== undefined) logger.warn(fileLimit)
  const heapBudget = unsentBudgetProblem(config.maxUnsentBytes, getHeapStatistics().heap_size_limit)
  if (heapBudget !== undefined) logger.warn(heapBudget)
  // Names only: a value may be a secret.
  for (const { name, meant } of config.misspelt)
    logger.warn({ variable: name, meant }, `${name} is not a variable Herald reads; is it ${meant}, misspelt?`)

  /**
   * Says `Connection: close` on the answers of requests already in flight, as on those that
   * arrive from now on: kept alive, a proxy would pool the connection and send a next
   * request down it as the node closes it (nginx's 502 on a POST it will not retry).
   */
  const closeOnceAnswered = () => {
    for (const response of answering) if (!response.headersSent) response.shouldKeepAlive = false
  }
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      services.lifecycle.draining = true
      clearInterval(heartbeat)
      clearInterval(unsentCheck)
      clearInterval(quietTimer)
      services.expiry.close()
      services.shedLog.flush()
      services.brokerFailureLog.flush()
      services.slowConsumerLog.flush()
      hub?.flushLogs()
      sockets?.log.flush()
      pipeliningLog.flush()
      sockets?.budget.close()
      const stopped = Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      )
      for (const connection of [...services.hub.connections]) connection.close('shutdown')
      for (const server of servers) server.closeIdleConnections()
      // Requests in flight finish, and their connections close once answered rather than wait
      // idle for the keep-alive timeout. A publish waiting on Redis gets its own answer (a 503
      // that says whether it may be stored) before its socket is cut: cutting it first left the
      // publisher with an empty reply while Redis went on to store the message.
      closeOnceAnswered()
      const grace = setTimeout(() => {
        for (const server of servers) server.closeAllConnections()
      }, broker.publishDeadlineMs + SHUTDOWN_GRACE_MS)
      await stopped
      clearTimeout(grace)
      await broker.close()
      logger.info('gateway stopped')
    })()
    return closing
  }
  let draining: Promise<void> | undefined
  const drain = () => {
    draining ??= (async () => {
      // The listener stays open until close(): during the drain the orchestrator still probes
      // (/readyz now fails with `draining`, /healthz answers) and new streams are turned away
      // with `herald.unavailable` (a proxy retries another node) instead of refused connections.
      services.lifecycle.draining = true
      closeOnceAnswered()
      const connections = [...services.hub.connections]
      logger.info({ connections: connections.length, windowMs: config.drainWindowMs }, 'draining')
      // The window spreads the closes already; a hint from RETRY_MS on top left a moved stream
      // silent 3–6 s (a rolling restart of 6,000 streams through nginx). Half of it, as a
      // stream turned away `draining` gets: the other nodes are up.
      const retryBaseMs = shedBaseDelayMs('draining', config.retryMs)
      const steps = drainSchedule(connections.length, config.drainWindowMs, retryBaseMs, Math.random)
      await new Promise<void>((resolve) => {
        let left = connections.length
        const timers = connections.map((connection, i) => {
          const step = steps[i]!
          return setTimeout(() => {
            connection.closeWithRetry('shutdown', step.retryMs)
            if (--left === 0) finish()
          }, step.atMs)
        })
        // Streams whose clients have left need no slot: once none is open, the drain is done.
        const watch = setInterval(() => {
          if (services.hub.connectionCount === 0) finish()
        }, DRAIN_CHECK_MS)
        function finish(): void {
          clearInterval(watch)
          for (const timer of timers) clearTimeout(timer)
          resolve()
        }
        if (left === 0) finish()
      })
      await close()
    })()
    return draining
  }
  return { url, address, services, drain, close }
}

/**
 * The open-file budget of client sockets, shared by every listening socket, with its warning
 * at most once per window; none where the open-file limit is unknown or unlimited.
 */
function clientSocketBudget(
  config: GatewayConfig,
  metrics: Metrics,
  logger: Logger,
  openSockets: () => number,
): { budget: SocketBudget; log: LogBurstLimit } | undefined {
  const capacity = socketBudgetFromFileLimit(config.openFileLimit)
  if (capacity === undefined) return undefined
  const log = warningBurstLimit(logger, 1, SHED_LOG_WINDOW_MS, 'more client sockets were closed than logged')
  const budget = new SocketBudget(capacity, openSockets, (socket) => {
    metrics.socketClosedForBudget(socket)
    if (log.take())
      logger.warn(
        { closed: socket, sockets: capacity, openFileLimit: config.openFileLimit },
        'client sockets at the open-file budget: one was closed',
      )
  })
  return { budget, log }
}

function createBroker(config: GatewayConfig, logger: Logger, metrics: Metrics): Broker {
  const options = {
    historyMaxLen: config.historyMaxLen,
    historyTtlSeconds: config.historyTtlSeconds,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    waitForReplicas: config.publishWaitForReplicas,
  }
  if (config.redis === undefined) return new MemoryBroker(options)
  return new RedisBroker(config.redis, options, logger, {
    intervalMs: config.pubsubProbeIntervalMs,
    onLatency: (seconds) => metrics.pubsubProbe(seconds),
    onRebuild: () => metrics.subscriberRebuilt(),
    onConnectionError: () => metrics.redisConnectionError(),
  })
}

/** How often the node checks what its streams hold unsent together (MAX_UNSENT_BYTES). */
const UNSENT_CHECK_MS = 1_000

/** An Expect of 100-continue alone, the one expectation HTTP/1.1 defines. */
const ONLY_CONTINUE = /^[ \t]*100-continue[ \t]*$/i

/**
 * A listen failure that no restart can fix, because HOST or PORT asks for what this machine
 * does not have, is a configuration problem (exit 78, gateway-process.ts); anything else, such as a
 * port still held by the node being replaced (EADDRINUSE), stays an error worth retrying.
 */
function listenProblem(error: NodeJS.ErrnoException, config: GatewayConfig): Error {
  const because = `cannot listen on ${config.host}:${config.port} (${error.code})`
  if (error.code === 'ENOTFOUND') return new ConfigProblems([new ConfigError('HOST', `${because}: no such host`)])
  if (error.code === 'EADDRNOTAVAIL')
    return new ConfigProblems([new ConfigError('HOST', `${because}: not an address of this machine`)])
  // A link-local IPv6 address without its zone (fe80::1), or a name longer than DNS allows:
  // as much the operator's HOST as an unknown name is.
  if (error.code === 'EINVAL')
    return new ConfigProblems([
      new ConfigError(
        'HOST',
        `${because}: not an address it can listen on (a link-local IPv6 one needs its zone, fe80::1%eth0)`,
      ),
    ])
  if (error.code === 'EACCES')
    return new ConfigProblems([new ConfigError('PORT', `${because}: a port below 1024 needs privileges`)])
  return error
}
