/**
 * What the HTTP routes need, assembled once by the server. Routes receive
 * this instead of reaching for globals, so tests can run many gateways in one process.
 */

import type { Logger } from 'pino'
import type { TokenVerifier } from '../auth/token-verifier.js'
import type { Broker } from '../broker/broker.js'
import type { GatewayConfig } from '../config/config.js'
import type { ConnectionBudget } from '../hub/connection-budget.js'
import type { Hub } from '../hub/hub.js'
import type { SseConnection } from '../hub/sse-connection.js'
import type { StreamExpiry } from '../hub/stream-expiry.js'
import type { TokenBucket } from '../hub/token-bucket.js'
import type { LogBurstLimit } from '../log/log-burst-limit.js'
import type { Metrics } from '../metrics/metrics.js'
import type { SocketBudget } from './socket-budget.js'

export interface Lifecycle {
  /** Set on shutdown: readiness fails and new streams are turned away. */
  draining: boolean
}

export interface GatewayServices {
  readonly config: GatewayConfig
  readonly broker: Broker
  readonly hub: Hub
  readonly budget: ConnectionBudget
  /** Client sockets kept within the open-file limit; none where the limit is unknown. */
  readonly sockets: SocketBudget | undefined
  readonly connectionRate: TokenBucket
  readonly expiry: StreamExpiry<SseConnection>
  readonly metrics: Metrics
  readonly logger: Logger
  /** Streams turned away are logged through this, a burst per window. */
  readonly shedLog: LogBurstLimit
  /** Publishes and stream setups the broker failed: one per request while Redis is away. */
  readonly brokerFailureLog: LogBurstLimit
  /** Streams cut as slow consumers, a burst per window. */
  readonly slowConsumerLog: LogBurstLimit
  readonly verifyToken: TokenVerifier
  readonly lifecycle: Lifecycle
}
