/**
 * ioredis's Sentinel connector, fixed so that a closed client lets its process exit at once, and
 * so that a failover announced while the client is looking the master up does not end it for good.
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
const prototype = HeraldSentinelConnector.prototype as unknown as {
  connectToSentinel?: ConnectToSentinel
  initFailoverDetector?: (this: ConnectorState) => Promise<void>
}
const connectToSentinel = prototype.connectToSentinel
if (typeof connectToSentinel === 'function') {
  prototype.connectToSentinel = function (endpoint, options) {
    // The failover detector's subscriptions are made here too, and may go as quickly.
    return connectToSentinel.call(this, endpoint, { disconnectTimeout: LOOKUP_DISCONNECT_TIMEOUT_MS, ...options })
  }
}

/** What the failover guard reads of ioredis's private connector state. */
interface ConnectorState {
  stream?: { readonly destroyed: boolean }
  failoverDetector?: FailoverDetectorState | null
  disconnect(): void
}

interface FailoverDetectorState {
  connector: { disconnect(): void }
  readonly sentinels?: ReadonlyArray<{ readonly client?: { on(event: 'error', listener: () => void): unknown } }>
  cleanup(): void
}

/**
 * The failover detector ioredis makes on each connect belongs to the connector, not to the
 * connection: it stays subscribed to `+switch-master` after its connection dropped. A switch
 * announced while the client reconnects (its Sentinel lookup under way) had the detector call
 * `connector.disconnect()`, which cancels the lookup: it then threw "Connection is closed." and the
 * client went to 'end', never to reconnect. Here a switch ends only a connection that is still up
 * (the client reconnects through Sentinel, as ioredis means it to); once that connection is gone,
 * the reconnect under way will ask the Sentinels anyway, so the stale detector just goes.
 */
const initFailoverDetector = prototype.initFailoverDetector
if (typeof initFailoverDetector === 'function') {
  prototype.initFailoverDetector = function () {
    const done = initFailoverDetector.call(this)
    // ioredis makes the detector before its first await: guarded before any message can arrive.
    guardFailoverDetector(this)
    return done.finally(() => guardFailoverDetector(this))
  }
}

const guarded = new WeakSet<FailoverDetectorState>()

function guardFailoverDetector(connector: ConnectorState): void {
  const detector = connector.failoverDetector
  if (!detector || guarded.has(detector)) return
  guarded.add(detector)
  // Its clients, one per Sentinel listed, have no error listener of their own: a Sentinel that
  // is down had ioredis print "Unhandled error event" and a stack on every connect, though the
  // others served. What they fail to hear, a reconnect asks the Sentinels anyway.
  for (const sentinel of detector.sentinels ?? []) sentinel.client?.on('error', () => {})
  detector.connector = {
    disconnect: () => {
      if (connector.stream && !connector.stream.destroyed) connector.disconnect()
      else detector.cleanup()
    },
  }
}
