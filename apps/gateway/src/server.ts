/**
 * Starting and stopping a gateway: build the services from a config, listen,
 * run the two shared timers (heartbeats and token expiry), and shut down in
 * order: stop accepting, close streams, close the broker.
 */

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import type { Logger } from 'pino'
import { createTokenVerifier } from './auth/token-verifier.js'
import type { Broker } from './broker/broker.js'
import { MemoryBroker } from './broker/memory-broker.js'
import { RedisBroker } from './broker/redis-broker.js'
import type { GatewayConfig } from './config/config.js'
import { createApp } from './http/app.js'
import { eventsRoute, isEventsRequest } from './http/events-route.js'
import type { GatewayServices } from './http/services.js'
import { ConnectionBudget } from './hub/connection-budget.js'
import { drainSchedule } from './hub/drain.js'
import { ExpiryWheel } from './hub/expiry-wheel.js'
import { HeartbeatSweep } from './hub/heartbeat-sweep.js'
import { Hub } from './hub/hub.js'
import type { SseConnection } from './hub/sse-connection.js'
import { TokenBucket } from './hub/token-bucket.js'
import { createLogger } from './log/logger.js'
import { Metrics } from './metrics/metrics.js'

/** Large enough for reconnect storms; the kernel caps it at somaxconn. */
const LISTEN_BACKLOG = 4096
const EXPIRY_SWEEP_MS = 1000
const SHUTDOWN_GRACE_MS = 1000

export interface Gateway {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string
  readonly services: GatewayServices
  /**
   * Graceful shutdown: readiness fails, the listener stops accepting, streams are
   * closed spread over the drain window with jittered retry hints, then `close()`.
   */
  drain(): Promise<void>
  close(): Promise<void>
}

export interface StartOptions {
  readonly logger?: Logger
  /** Overrides the broker the config selects; for tests that share one. */
  readonly broker?: Broker
}

export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel)
  let hub: Hub | undefined
  let broker: Broker | undefined
  const metrics = new Metrics(
    () => hub?.connectionCount ?? 0,
    () => broker?.isAvailable() ?? false,
  )
  broker = options.broker ?? createBroker(config, logger, metrics)
  hub = new Hub(broker, metrics, logger)
  await broker.start(hub)
  const services: GatewayServices = {
    config,
    broker,
    hub,
    budget: new ConnectionBudget(config.maxConnections, config.maxConnectionsPerUser),
    connectionRate: new TokenBucket(config.connectionRatePerSecond, config.connectionRateBurst, Date.now()),
    expiry: new ExpiryWheel<SseConnection>(),
    metrics,
    logger,
    verifyToken: createTokenVerifier(config.jwt),
    lifecycle: { draining: false },
  }
  // The event stream is served on Node's objects directly; Hono routes everything else.
  const events = eventsRoute(services)
  const app = getRequestListener(createApp(services).fetch)
  const server = createServer((request, response) =>
    isEventsRequest(request) ? events(request, response) : app(request, response),
  )
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject)
      resolve()
    })
  })

  const heartbeats = new HeartbeatSweep(config.heartbeatIntervalMs, services.hub.connections)
  const heartbeat = setInterval(() => heartbeats.tick(), heartbeats.tickMs)
  const expirySweep = setInterval(() => {
    for (const connection of services.expiry.takeDue(Date.now())) connection.close('token_expired')
  }, EXPIRY_SWEEP_MS)
  heartbeat.unref()
  expirySweep.unref()

  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`
  logger.info({ url, broker: broker.kind, maxConnections: config.maxConnections }, 'gateway listening')

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      services.lifecycle.draining = true
      clearInterval(heartbeat)
      clearInterval(expirySweep)
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const connection of [...services.hub.connections]) connection.close('shutdown')
      server.closeIdleConnections()
      // Requests still in flight get a moment to finish; keep-alive sockets do not hold shutdown up.
      const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS)
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
      services.lifecycle.draining = true
      server.close()
      const connections = [...services.hub.connections]
      logger.info({ connections: connections.length, windowMs: config.drainWindowMs }, 'draining')
      const steps = drainSchedule(connections.length, config.drainWindowMs, config.retryMs, Math.random)
      await Promise.all(
        connections.map(
          (connection, i) =>
            new Promise<void>((resolve) => {
              const step = steps[i]!
              setTimeout(() => {
                connection.closeWithRetry('shutdown', step.retryMs)
                resolve()
              }, step.atMs)
            }),
        ),
      )
      await close()
    })()
    return draining
  }
  return { url, services, drain, close }
}

function createBroker(config: GatewayConfig, logger: Logger, metrics: Metrics): Broker {
  const options = {
    historyMaxLen: config.historyMaxLen,
    historyTtlSeconds: config.historyTtlSeconds,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
  }
  if (config.redis === undefined) return new MemoryBroker(options)
  return new RedisBroker(config.redis, options, logger, {
    intervalMs: config.pubsubProbeIntervalMs,
    onLatency: (seconds) => metrics.pubsubProbe(seconds),
    onRebuild: () => metrics.subscriberRebuilt(),
  })
}
