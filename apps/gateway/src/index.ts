/**
 * @herald/gateway as a library: start a gateway from a validated config,
 * for embedding and for tests. The CLI entry is main.ts.
 */

export type {
  Broker,
  BrokerOptions,
  BrokerSink,
  HistoryEntry,
  HistoryRead,
  PublishRequest,
} from './broker/broker.js'
export { MemoryBroker } from './broker/memory-broker.js'
export { ConfigProblems, type GatewayConfig, loadConfig } from './config/config.js'
export { ERROR_STATUS, HeraldError, type HeraldErrorCode } from './errors/herald-error.js'
export { type Gateway, type StartOptions, startGateway } from './server.js'
