/**
 * `HeraldClient`: what an app uses. It elects one tab to hold the
 * connection (see tab-share.ts), turns frames into typed notifications,
 * drops anything already delivered (position-tracker.ts), remembers the last
 * id across reloads (last-id-store.ts) and tells the app when it must
 * refetch (`herald.reset`). Followers hear everything the leader's connection
 * reports, its refusal included, so every tab's handlers run.
 */

import { READY_EVENT, RESET_EVENT, type ResetReason, UNAVAILABLE_EVENT } from '@herald/protocol'
import { type BackoffPolicy, backoffDelay } from './backoff.js'
import { defaultStorage, type KeyValueStorage, LastIdStore } from './last-id-store.js'
import { Listeners } from './listeners.js'
import { PositionTracker } from './position-tracker.js'
import { type ConnectionState, parseJson, StreamConnection } from './stream-connection.js'
import { canShareAcrossTabs, shareAcrossTabs, type TabShare } from './tab-share.js'
import { readTokenClaims } from './token-expiry.js'
import { canStreamFetch, eventSourceTransport, fetchTransport, type TransportName } from './transport.js'

export type { ConnectionState } from './stream-connection.js'

export interface HeraldClientOptions {
  /** The gateway's events endpoint, e.g. `https://notify.example.com/v1/events`. */
  readonly url: string
  /** Returns a token (a JWT); called at start, before the token expires, and after a 401. */
  readonly getToken: () => string | Promise<string>
  /** Topics to receive besides the user's own channel; each must be granted by the token. */
  readonly topics?: readonly string[]
  /**
   * Notification types to listen for over EventSource, which dispatches only the types listened for
   * (types passed to `on` are added). Fetch streaming delivers every type without this.
   */
  readonly types?: readonly string[]
  /** `auto` (default) streams with fetch where it can, else EventSource. */
  readonly transport?: 'auto' | TransportName
  /** Share one connection between this origin's tabs (default true, where Web Locks exist). */
  readonly shareAcrossTabs?: boolean
  /** The first retry delay until the server sends `retry:` (default 1000 ms). */
  readonly initialRetryMs?: number
  /** The longest wait between attempts (default 30 s). */
  readonly maxRetryMs?: number
  /** Where the last event id survives reloads (default localStorage; null to keep none). */
  readonly storage?: KeyValueStorage | null
}

export interface HeraldNotification<T = unknown> {
  readonly type: string
  /** The payload, parsed from JSON (the raw text if it is not JSON). */
  readonly data: T
  /** The event's id: a resume token, unique per notification. */
  readonly id: string
}

export interface HeraldReset {
  readonly reason: ResetReason
}

export interface HeraldClientError {
  readonly status: number
  readonly code: string
  readonly message: string
}

export type TabRole = 'leader' | 'follower' | 'alone'

/** What tabs send each other. */
type RelayMessage =
  | { readonly kind: 'event'; readonly type: string; readonly data: string; readonly id: string }
  | { readonly kind: 'state'; readonly state: ConnectionState }
  | { readonly kind: 'error'; readonly error: HeraldClientError }
  | { readonly kind: 'hello' }

const BUILT_IN_TYPES = ['message', READY_EVENT, RESET_EVENT, UNAVAILABLE_EVENT]

export class HeraldClient<Events extends Record<string, unknown> = Record<string, unknown>> {
  readonly #options: HeraldClientOptions
  readonly #url: string
  readonly #tracker = new PositionTracker()
  readonly #typed = new Map<string, Listeners<HeraldNotification>>()
  readonly #notifications = new Listeners<HeraldNotification>()
  readonly #resets = new Listeners<HeraldReset>()
  readonly #states = new Listeners<ConnectionState>()
  readonly #roles = new Listeners<TabRole>()
  readonly #errors = new Listeners<HeraldClientError>()
  #store: LastIdStore | undefined
  #lastId = ''
  #state: ConnectionState = 'connecting'
  #role: TabRole | undefined
  #connection: StreamConnection | undefined
  #share: TabShare<RelayMessage> | undefined
  #closed = false
  /** The refusal that stopped the shared connection, reported once per tab and repeated to tabs that open later. */
  #refusal: HeraldClientError | undefined
  #pendingToken: Promise<string> | undefined
  #startToken: { readonly value: string; readonly obtainedAtMs: number } | undefined

  constructor(options: HeraldClientOptions) {
    this.#options = options
    const url = new URL(options.url, globalThis.location?.href)
    if (options.topics !== undefined && options.topics.length > 0)
      url.searchParams.set('topics', options.topics.join(','))
    this.#url = url.toString()
    void this.#start()
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** Whether this tab holds the shared connection; undefined until it knows. */
  get role(): TabRole | undefined {
    return this.#role
  }

  /** The resume token of the last event this tab has seen. */
  get lastEventId(): string {
    return this.#lastId
  }

  /** Notifications of one type, with the payload typed by `Events`. */
  on<K extends keyof Events & string>(type: K, handler: (notification: HeraldNotification<Events[K]>) => void) {
    let listeners = this.#typed.get(type)
    if (listeners === undefined) {
      listeners = new Listeners()
      this.#typed.set(type, listeners)
      this.#connection?.listen(type)
    }
    return listeners.add(handler as (notification: HeraldNotification) => void)
  }

  /** Every notification, whatever its type (with EventSource, only types passed to `on`, and `message`). */
  onNotification(handler: (notification: HeraldNotification) => void): () => void {
    return this.#notifications.add(handler)
  }

  /** The position could not be resumed exactly: some notifications may be missing, so refetch. */
  onReset(handler: (reset: HeraldReset) => void): () => void {
    return this.#resets.add(handler)
  }

  onStateChange(handler: (state: ConnectionState) => void): () => void {
    return this.#states.add(handler)
  }

  onRoleChange(handler: (role: TabRole) => void): () => void {
    return this.#roles.add(handler)
  }

  /** The gateway refused the stream for good (a forbidden topic, a bad request); the client has stopped. Every tab hears it. */
  onError(handler: (error: HeraldClientError) => void): () => void {
    return this.#errors.add(handler)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#share?.close()
    this.#connection?.stop()
    this.#setState('closed')
  }

  async #start(): Promise<void> {
    // The token's subject scopes the stored position and the tab group, so users never share either.
    let obtainedAtMs = Date.now()
    let token: string | undefined
    for (let attempt = 0; token === undefined; attempt++) {
      obtainedAtMs = Date.now()
      token = await this.#token().catch(() => undefined)
      if (this.#closed) return
      if (token === undefined)
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(this.#retryPolicy(), attempt)))
    }
    this.#startToken = { value: token, obtainedAtMs }
    const user = readTokenClaims(token).sub ?? ''
    if (this.#closed) return
    const scope = `${this.#url}|${user}`
    const storage = this.#options.storage === undefined ? defaultStorage() : (this.#options.storage ?? undefined)
    this.#store = new LastIdStore(storage, scope)
    this.#lastId = this.#store.get()
    this.#tracker.reset(this.#lastId)
    if (this.#options.shareAcrossTabs === false || !canShareAcrossTabs()) {
      this.#setRole('alone')
      this.#lead()
      return
    }
    this.#setRole('follower')
    this.#share = shareAcrossTabs<RelayMessage>(`herald:${scope}`, {
      lead: () => {
        this.#setRole('leader')
        return this.#lead()
      },
      receive: (message) => this.#receive(message),
    })
    this.#share.post({ kind: 'hello' })
  }

  #lead(): () => void {
    const transport =
      (this.#options.transport ?? 'auto') === 'auto'
        ? canStreamFetch()
          ? 'fetch'
          : 'eventsource'
        : this.#options.transport
    const connection = new StreamConnection({
      url: this.#url,
      transport: transport === 'eventsource' ? eventSourceTransport : fetchTransport,
      getToken: () => this.#token(),
      ...(this.#startToken === undefined ? {} : { initialToken: this.#startToken }),
      initialRetryMs: this.#retryPolicy().baseMs,
      maxRetryMs: this.#retryPolicy().maxMs,
      lastEventId: () => this.#lastId,
      types: () => [...BUILT_IN_TYPES, ...(this.#options.types ?? []), ...this.#typed.keys()],
      onEvent: (event) => {
        if (this.#handle(event.type, event.data, event.lastEventId)) {
          this.#share?.post({ kind: 'event', type: event.type, data: event.data, id: event.lastEventId })
        }
      },
      onState: (state) => {
        this.#setState(state)
        this.#share?.post({ kind: 'state', state })
      },
      onRefused: ({ status, code, message }) => {
        const error = { status, code, message }
        this.#refused(error)
        this.#share?.post({ kind: 'error', error })
      },
    })
    this.#connection = connection
    connection.start()
    return () => connection.stop()
  }

  #receive(message: RelayMessage): void {
    if (message.kind === 'event') this.#handle(message.type, message.data, message.id)
    else if (message.kind === 'state') {
      if (this.#role === 'follower') this.#setState(message.state)
    } else if (message.kind === 'error') {
      if (this.#role === 'follower') this.#refused(message.error)
    } else if (this.#role === 'leader') {
      // A new tab: tell it where the connection stands, and why it stopped if it did.
      this.#share?.post({ kind: 'state', state: this.#state })
      if (this.#refusal !== undefined) this.#share?.post({ kind: 'error', error: this.#refusal })
    }
  }

  /** Reports a refusal, once: the leader repeats it to every tab that opens later, which all tabs hear. */
  #refused(error: HeraldClientError): void {
    if (this.#refusal !== undefined) return
    this.#refusal = error
    this.#errors.emit(error)
  }

  /** Applies one event, from the stream or from the leader; false if it was already seen. */
  #handle(type: string, data: string, id: string): boolean {
    if (type === UNAVAILABLE_EVENT) return false
    if (type === READY_EVENT) {
      this.#tracker.advance(id)
      this.#remember(id)
      return true
    }
    if (type === RESET_EVENT) {
      this.#tracker.reset(id)
      this.#remember(id)
      const reason = (parseJson(data) as Partial<HeraldReset> | undefined)?.reason ?? 'unknown'
      this.#resets.emit({ reason })
      return true
    }
    if (id !== '' && !this.#tracker.advance(id)) return false
    this.#remember(id)
    const notification: HeraldNotification = { type, data: parseJson(data), id }
    this.#typed.get(type)?.emit(notification)
    this.#notifications.emit(notification)
    return true
  }

  #remember(id: string): void {
    if (id === '') return
    this.#lastId = id
    if (this.#role !== 'follower') this.#store?.set(id)
  }

  #token(): Promise<string> {
    // Concurrent callers (start and the first connect) share one request.
    this.#pendingToken ??= Promise.resolve()
      .then(() => this.#options.getToken())
      .finally(() => {
        this.#pendingToken = undefined
      })
    return this.#pendingToken
  }

  #retryPolicy(): BackoffPolicy {
    return { baseMs: this.#options.initialRetryMs ?? 1000, maxMs: this.#options.maxRetryMs ?? 30_000 }
  }

  #setState(state: ConnectionState): void {
    if (this.#closed && state !== 'closed') return
    if (state === this.#state) return
    this.#state = state
    this.#states.emit(state)
  }

  #setRole(role: TabRole): void {
    this.#role = role
    this.#roles.emit(role)
  }
}
