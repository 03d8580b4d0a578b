/**
 * The connection a leading tab owns: connect, read, and when the stream
 * ends come back with the last event id, so nothing still in history is
 * lost. Waits follow the server: `herald.unavailable` carries how long to
 * wait, and so does a `retry:` that ends a stream live for a while (a gateway
 * that drains, or lost more of an outage than history holds, says when to come
 * back); the `retry:` a stream opens with sets the base of the jittered
 * exponential backoff. The token is replaced before it expires: the new one is
 * fetched while the old stream still runs, then the stream is reopened from
 * the last id. A token that looks expired on arrival (a clock ahead of the
 * server's, a stale token source) is used for one stream, the server being the
 * judge; when such tokens keep coming, they are fetched with the same backoff
 * as connections.
 *
 * A stream that goes silent without closing is dropped and resumed too: once
 * `herald.ready` names the gateway's heartbeat interval, nothing arriving for
 * twice that plus five seconds ends the stream (silence-watchdog.ts). Before
 * `herald.ready`, the default interval stands in: a request or a replay that a
 * half-open connection or a proxy that lost its upstream left silent would
 * otherwise wait for ever.
 */

import { type ParsedEvent, READY_EVENT, UNAVAILABLE_EVENT, type UnavailableEventData } from '@herald/protocol'
import {
  askedDelayMs,
  attemptAfterStream,
  backoffDelay,
  MAX_ASKED_DELAY_MS,
  waitAfterClosingRetry,
  waitAfterUnavailable,
} from './backoff.js'
import { SilenceWatchdog, silenceLimitMs } from './silence-watchdog.js'
import { readTokenClaims, refreshAt } from './token-expiry.js'
import type { StreamEnd, StreamHandle, Transport } from './transport.js'

/**
 * The silence a stream may keep before `herald.ready`: as for the gateway's default heartbeat
 * interval (15 s). A gateway answers within seconds, and turns a stream it cannot set up away
 * with `herald.unavailable` once it finds its broker unavailable.
 */
const SETUP_SILENCE_LIMIT_MS = silenceLimitMs(15_000)

/** Consecutive 401s, each with a fresh token, before the client gives up and reports the error. */
const MAX_AUTH_FAILURES = 3

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface StreamConnectionOptions {
  readonly url: string
  readonly transport: Transport
  readonly getToken: () => Promise<string>
  /** A token the caller already has, so the first attempt does not fetch another. */
  readonly initialToken?: { readonly value: string; readonly obtainedAtMs: number }
  readonly initialRetryMs: number
  readonly maxRetryMs: number
  /** The position to resume from, read at each attempt. */
  lastEventId(): string
  types(): Iterable<string>
  onEvent(event: ParsedEvent): void
  onState(state: ConnectionState): void
  /** A refusal that retrying cannot fix (a forbidden topic, a bad request). The connection stops. */
  onRefused(end: Extract<StreamEnd, { kind: 'refused' }>): void
}

interface HeldToken {
  readonly value: string
  /** When to replace it; undefined when it looked expired on arrival, so it serves one stream. */
  readonly refreshAtMs: number | undefined
}

export class StreamConnection {
  #stopped = false
  #token: HeldToken | undefined
  /** The token the last stream was opened with. */
  #streamed: HeldToken | undefined
  /** Tokens in a row that looked expired on arrival, and when the last of them was fetched. */
  #expiredOnArrival = 0
  #lastFetchMs = 0
  #controller: AbortController | undefined
  #handle: StreamHandle | undefined
  #wake: (() => void) | undefined
  /** Shortens the wait in progress to at most the given delay; undefined when the client is not waiting. */
  #shortenWait: ((ms: number) => void) | undefined
  #refreshTimer: ReturnType<typeof setTimeout> | undefined
  #serverRetryMs: number | undefined
  /** How long `herald.unavailable` asked this client to wait before its next attempt. */
  #unavailableMs: number | undefined
  /** The `retry:` the gateway sent as it ended the live stream (a drain, an outage history does not cover). */
  #closingRetryMs: number | undefined
  /** When the current stream got `herald.ready`; undefined until it does. */
  #liveSinceMs: number | undefined
  #rotating = false
  /** Whether the page went offline while the current stream was open or setting up: its connection may be gone. */
  #offlineDuringStream = false
  /** The reopen an `online` event scheduled for such a stream; another `offline` cancels it. */
  #reopenTimer: ReturnType<typeof setTimeout> | undefined
  /** Whether the current stream's transport sees heartbeats, so silence means a dead stream. */
  #seesHeartbeats = false
  readonly #watchdog = new SilenceWatchdog(() => this.#controller?.abort())

  constructor(private readonly options: StreamConnectionOptions) {
    if (options.initialToken !== undefined)
      this.#token = this.#obtained(options.initialToken.value, options.initialToken.obtainedAtMs)
  }

  start(): void {
    void this.#run()
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#refreshTimer)
    clearTimeout(this.#reopenTimer)
    this.#watchdog.stop()
    this.#controller?.abort()
    this.#wake?.()
  }

  /**
   * Ends the current stream and opens the next at once, reading `lastEventId` again, without a
   * reconnecting state: for when the position to stream from moved back. Between streams (backing
   * off, fetching a token) there is nothing to end: the next attempt reads the position anyway.
   */
  reopen(): void {
    if (this.#stopped || this.#handle === undefined) return
    this.#rotating = true
    this.#controller?.abort()
  }

  /** The page went offline (its `offline` event): the stream in progress may lose its connection with the network. */
  networkLost(): void {
    clearTimeout(this.#reopenTimer)
    this.#reopenTimer = undefined
    if (this.#handle !== undefined) this.#offlineDuringStream = true
  }

  /**
   * The network is back (the page's `online` event). A wait that has grown through failed
   * attempts while offline is cut to the first step, jittered, or to what the gateway asked for
   * if that is longer, so the client neither sits out the rest of a long step once it could
   * connect nor overrides a node that sheds load. A stream open or setting up while the page went
   * offline is reopened from its position, a jittered first step later: its connection may have
   * gone with the network (an interface that went away, a NAT that forgot it) without a word, and
   * it would stay silent until the watchdog's limit, 35 s at the default heartbeat, and its next
   * attempt might wait as long on a pooled connection as dead (a probe that black-holed the path
   * saw tabs without notifications for 24–59 s after it was back). The wait lets a flapping network settle: an `offline` meanwhile cancels it, and the next `online`
   * starts it again, so a flap reopens the stream once.
   */
  retrySoon(): void {
    const stream = this.#handle
    if (stream === undefined) {
      this.#shortenWait?.(backoffDelay(this.#policy(), 0))
      return
    }
    if (!this.#offlineDuringStream || this.#reopenTimer !== undefined) return
    this.#reopenTimer = setTimeout(
      () => {
        this.#reopenTimer = undefined
        if (this.#handle === stream) this.reopen()
      },
      backoffDelay(this.#policy(), 0),
    )
  }

  /** Listens for a type on the open stream too (EventSource only dispatches known types). */
  listen(type: string): void {
    this.#handle?.listen(type)
  }

  async #run(): Promise<void> {
    const { options } = this
    let attempt = 0
    let authFailures = 0
    let unavailableInRow = 0
    options.onState('connecting')
    while (!this.#stopped) {
      const token = await this.#currentToken().catch(() => undefined)
      if (this.#stopped) break
      if (token === undefined) {
        await this.#wait(backoffDelay(this.#policy(), attempt++))
        continue
      }
      const end = await this.#stream(token)
      if (this.#stopped) break
      const rotated = this.#rotating
      this.#rotating = false
      if (end.kind === 'refused') {
        // A 401 may be a token that expired or was revoked early: try fresh ones a few times.
        if (end.status === 401 && ++authFailures <= MAX_AUTH_FAILURES) this.#token = undefined
        else {
          this.stop()
          options.onRefused(end)
          break
        }
      }
      // A token rotation reopens the stream at once from the last id: to the app it stays open.
      // Reopened before it went live (the network came back during its setup), an attempt keeps
      // the backoff it had grown: a flapping network must not reset it during a gateway outage.
      if (rotated) {
        if (this.#liveSinceMs !== undefined) attempt = 0
        continue
      }
      // Said as the stream ends, not after the wait: there is no stream while the client waits.
      options.onState('reconnecting')
      // A stream that went live had its token accepted; one that stayed live a while starts the backoff over.
      const liveMs = this.#liveSinceMs === undefined ? undefined : Date.now() - this.#liveSinceMs
      if (liveMs !== undefined) {
        authFailures = 0
        attempt = attemptAfterStream(this.#policy(), attempt, liveMs)
      }
      const unavailableMs = this.#unavailableMs
      unavailableInRow = unavailableMs === undefined || liveMs !== undefined ? 0 : unavailableInRow + 1
      let waitMs =
        unavailableMs === undefined
          ? backoffDelay(this.#policy(), attempt)
          : waitAfterUnavailable(this.#policy(), unavailableMs, unavailableInRow)
      if (this.#closingRetryMs !== undefined && liveMs !== undefined)
        waitMs = waitAfterClosingRetry(this.#policy(), waitMs, this.#closingRetryMs, liveMs)
      // A Retry-After counts up to maxRetryMs: a day's wait would look like a client that stopped.
      const askedMs = end.kind === 'failed' ? Math.min(end.retryAfterMs ?? 0, options.maxRetryMs) : 0
      const delay = Math.max(waitMs, askedMs, this.#tokenBackoff())
      // What the gateway asked for, which coming back online does not cut.
      const closingMs = liveMs === undefined ? undefined : this.#closingRetryMs
      const gatewayAskedMs = Math.max(unavailableMs ?? 0, closingMs ?? 0, askedMs)
      attempt++
      await this.#wait(delay, Math.min(delay, gatewayAskedMs))
    }
    options.onState('closed')
  }

  async #stream(token: HeldToken): Promise<StreamEnd> {
    const controller = new AbortController()
    this.#controller = controller
    this.#unavailableMs = undefined
    this.#closingRetryMs = undefined
    this.#liveSinceMs = undefined
    this.#offlineDuringStream = false
    this.#streamed = token
    this.#scheduleRefresh(token)
    this.#watchdog.start(SETUP_SILENCE_LIMIT_MS)
    const handle = this.options.transport(
      {
        url: this.options.url,
        token: token.value,
        lastEventId: this.options.lastEventId(),
        signal: controller.signal,
        types: this.options.types(),
      },
      {
        onOpen: () => {},
        onRetry: (ms) => {
          const asked = askedDelayMs(ms)
          // After herald.ready, a retry: comes only as the gateway ends the stream on purpose, with
          // its own jitter: when to come back (waitAfterClosingRetry), not the backoff's base.
          if (this.#liveSinceMs !== undefined) this.#closingRetryMs = asked ?? this.#closingRetryMs
          else this.#serverRetryMs = asked ?? this.#serverRetryMs
        },
        onActivity: () => this.#watchdog.activity(),
        onEvent: (event) => this.#onEvent(event),
      },
    )
    this.#handle = handle
    this.#seesHeartbeats = handle.seesHeartbeats
    const end = await handle.done
    this.#handle = undefined
    this.#watchdog.stop()
    clearTimeout(this.#refreshTimer)
    return end
  }

  #onEvent(event: ParsedEvent): void {
    if (event.type === READY_EVENT) {
      this.#liveSinceMs = Date.now()
      // A gateway that does not say how often it sends heartbeats (an older one) gets no watchdog.
      const heartbeatMs = (parseJson(event.data) as { heartbeatMs?: unknown } | undefined)?.heartbeatMs
      // Clamped as a retry: is: past 2^31 - 1 ms a timer fires at once, and the watchdog re-armed
      // itself in a loop of some 200 timers a second, for as long as the stream lasted.
      if (this.#seesHeartbeats && typeof heartbeatMs === 'number' && heartbeatMs > 0 && Number.isFinite(heartbeatMs))
        this.#watchdog.start(silenceLimitMs(Math.min(heartbeatMs, MAX_ASKED_DELAY_MS)))
      else this.#watchdog.stop()
      this.options.onState('open')
    } else if (event.type === UNAVAILABLE_EVENT) {
      const data = parseJson(event.data) as Partial<UnavailableEventData> | undefined
      this.#unavailableMs = askedDelayMs(data?.retryMs)
    }
    this.options.onEvent(event)
  }

  async #currentToken(): Promise<HeldToken> {
    const token = this.#token
    if (token !== undefined) {
      const usable = token.refreshAtMs === undefined ? token !== this.#streamed : Date.now() < token.refreshAtMs
      if (usable) return token
    }
    this.#token = await this.#fetchToken()
    return this.#token
  }

  async #fetchToken(): Promise<HeldToken> {
    const obtainedAt = Date.now()
    const value = await this.options.getToken()
    // An error page returned as the token (a token route's 502, read as text) has newlines, which
    // fetch refuses to put in a header before it sends anything. Kept, with no expiry to read, that
    // text was tried after every backoff for good, and getToken never called again: the client
    // stalled until a reload. It counts as a failed call instead, as a getToken that throws does.
    if (!SENDABLE_TOKEN.test(value)) throw new TypeError('getToken returned text that cannot be sent as a token')
    return this.#obtained(value, obtainedAt)
  }

  #obtained(value: string, obtainedAtMs: number): HeldToken {
    const token = held(value, obtainedAtMs)
    this.#expiredOnArrival = token.refreshAtMs === undefined ? this.#expiredOnArrival + 1 : 0
    this.#lastFetchMs = obtainedAtMs
    return token
  }

  /**
   * How much longer to wait before the next attempt, which fetches a token, while tokens keep
   * arriving expired: the backoff grows with how many came in a row, counted from the last fetch,
   * so one that served a long stream costs no extra wait.
   */
  #tokenBackoff(): number {
    if (this.#expiredOnArrival === 0) return 0
    const next = this.#lastFetchMs + backoffDelay(this.#policy(), this.#expiredOnArrival - 1)
    return Math.max(0, next - Date.now())
  }

  /** Before the token expires: get the next one while the stream runs, then reopen from the last id. */
  #scheduleRefresh(token: HeldToken): void {
    clearTimeout(this.#refreshTimer)
    // A token the client's clock cannot time is left to the server, which ends the stream at its expiry.
    if (token.refreshAtMs === undefined || !Number.isFinite(token.refreshAtMs)) return
    // Browsers fire a timer of more than 2^31 - 1 ms (24.8 days) at once: a token that lives
    // longer would be refreshed, and its stream reopened, in a loop. Such a wait goes in steps.
    if (token.refreshAtMs - Date.now() > MAX_TIMER_MS) {
      this.#refreshTimer = setTimeout(() => this.#scheduleRefresh(token), MAX_TIMER_MS)
      return
    }
    this.#refreshTimer = setTimeout(
      async () => {
        const next = await this.#fetchToken().catch(() => undefined)
        // On failure the stream runs on; the server closes it at expiry and the loop retries.
        if (next === undefined || this.#stopped || this.#token !== token) return
        this.#token = next
        // Too late for a swap (the server ended the stream at expiry and the client waits to
        // reconnect): the next attempt uses the token, and is a reconnect, not a rotation.
        if (this.#handle === undefined || this.#streamed !== token) return
        this.#rotating = true
        this.#controller?.abort()
      },
      Math.max(0, token.refreshAtMs - Date.now()),
    )
  }

  #policy(): { baseMs: number; maxMs: number } {
    return { baseMs: this.#serverRetryMs ?? this.options.initialRetryMs, maxMs: this.options.maxRetryMs }
  }

  /** Waits `ms`, which `#shortenWait` may cut, though not below `floorMs`. */
  #wait(ms: number, floorMs = 0): Promise<void> {
    return new Promise((resolve) => {
      const until = Date.now() + ms
      const floorUntil = Date.now() + floorMs
      let timer = setTimeout(() => done(), ms)
      const done = () => {
        clearTimeout(timer)
        this.#wake = undefined
        this.#shortenWait = undefined
        resolve()
      }
      this.#wake = done
      this.#shortenWait = (limitMs) => {
        const shortMs = Math.max(limitMs, floorUntil - Date.now())
        if (until - Date.now() <= shortMs) return
        clearTimeout(timer)
        timer = setTimeout(done, shortMs)
      }
    })
  }
}

/** What a token in an Authorization header can be: visible ASCII (a JWT is base64url and dots). */
const SENDABLE_TOKEN = /^[\x21-\x7e]+$/

/** The longest delay a timer keeps: a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

function held(value: string, obtainedAtMs: number): HeldToken {
  const { expiresAtMs } = readTokenClaims(value)
  return {
    value,
    refreshAtMs: expiresAtMs === undefined ? Number.POSITIVE_INFINITY : refreshAt(expiresAtMs, obtainedAtMs),
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
