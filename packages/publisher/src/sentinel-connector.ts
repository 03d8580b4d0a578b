/**
 * ioredis's Sentinel connector, fixed so that a closed client lets its process exit at once.
 *
 * An ioredis disconnect arms a timer (`disconnectTimeout`, 2 s by default) that only the socket's
 * `close` clears. The clients ioredis makes to look the master up get none of the client's
 * options, and when no Sentinel answered their socket had closed already: each lookup's timer
 * then held the process for 2 s after the publisher, the CLI or the gateway closed the client.
 */

import { type SentinelConnectionOptions, SentinelConnector } from 'ioredis'

/** A lookup's socket is done with once its client disconnects: closed on the next tick, not in 2 s. */
const LOOKUP_DISCONNECT_TIMEOUT_MS = 0

export class HeraldSentinelConnector extends SentinelConnector {
  // ioredis types a Connector's options as unknown; they are the client's own, Sentinel ones here.
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions)
  }
}

type ConnectToSentinel = (this: SentinelConnector, endpoint: unknown, options?: object) => unknown

// `connectToSentinel(endpoint, options)` is private in ioredis's types, hence the prototype.
// Were it renamed by a later ioredis, the connector stays ioredis's own (close-exit.test.ts says so).
const prototype = HeraldSentinelConnector.prototype as unknown as { connectToSentinel?: ConnectToSentinel }
const connectToSentinel = prototype.connectToSentinel
if (typeof connectToSentinel === 'function') {
  prototype.connectToSentinel = function (endpoint, options) {
    // The failover detector's subscriptions are made here too, and may go as quickly.
    return connectToSentinel.call(this, endpoint, { disconnectTimeout: LOOKUP_DISCONNECT_TIMEOUT_MS, ...options })
  }
}
