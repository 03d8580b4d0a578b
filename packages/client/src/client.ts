/**
 * `HeraldClient`: what an app uses. It elects one tab to hold the
 * connection (see tab-share.ts), turns frames into typed notifications,
 * drops anything already delivered (position-tracker.ts), remembers the last
 * id across reloads (last-id-store.ts) and tells the app when it must
 * refetch (`herald.reset`). Followers hear everything the leader's connection
 * reports, its refusal included, so every tab's handlers run.
 *
 * Each tab also keeps its own position (sessionStorage, which survives a
 * reload of that tab). A tab that joins a leader, by opening, reloading or at
 * a handover, says in its `hello` where it stopped and applies relayed events
 * only once the leader has answered (`welcome`): if it was behind, the leader
 * first reopens its stream from the tab's position (catch-up.ts), so what was
 * published while the tab was away reaches it, and every tab drops the rest. If
 * history no longer holds that position, the reset goes to the tabs that were
 * behind alone, and the stream goes back to the leader's own position.
 *
 * Over EventSource, which dispatches only the types listened for, the leader
 * listens for every tab's types: a tab names its own in its `hello`, and one it
 * adds later with `on` in a `listen`. Every tab keeps the types it hears of, so
 * the tab that takes over at a handover listens for them from its first stream
 * (the `hello`s that follow its `leading` name them again).
 */

import { POSITION_EVENT, READY_EVENT, RESERVED_TYPE_PREFIX, RESET_EVENT, UNAVAILABLE_EVENT } from '@herald/protocol'
import { type BackoffPolicy, backoffDelay } from './backoff.js'
import { earliestPosition, isBehind } from './catch-up.js'
import type {
  HeraldClientError,
  HeraldClientOptions,
  HeraldNotification,
  HeraldReset,
  TabRole,
} from './client-options.js'
import { defaultSessionStorage, defaultStorage, LastIdStore } from './last-id-store.js'
import { Listeners } from './listeners.js'
import { optionProblem } from './option-checks.js'
import { currentPage } from './page-registry.js'
import { releasePageSlot, slotScope, takePageSlot } from './page-slots.js'
import { PositionTracker } from './position-tracker.js'
import type { RelayMessage } from './relay-message.js'
import { type ConnectionState, parseJson, StreamConnection } from './stream-connection.js'
import { canShareAcrossTabs, shareAcrossTabs, type TabShare, withdrawWaitingLockRequests } from './tab-share.js'
import { readTokenClaims } from './token-expiry.js'
import { TokenSource } from './token-source.js'
import { canStreamFetch, eventSourceTransport, fetchTransport } from './transport.js'

export type { ConnectionState } from './stream-connection.js'

const BUILT_IN_TYPES = ['message', READY_EVENT, RESET_EVENT, UNAVAILABLE_EVENT, POSITION_EVENT]
const DEFAULT_TOKEN_TIMEOUT_MS = 15_000

/** A token for another user than the client started with: it must not be used for this client's stream. */
export const USER_CHANGED_ERROR = 'HERALD_ERR_USER_CHANGED'
/** The code of the error the client stops with when getToken keeps returning tokens without a readable `sub`. */
export const TOKEN_UNREADABLE_ERROR = 'HERALD_ERR_TOKEN_UNREADABLE'
/** Unreadable tokens in a row at start before the client stops: as many as the 401s it takes. */
const MAX_UNREADABLE_TOKENS = 4

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
  readonly #tokens: TokenSource
  /** The browser's position, shared by its tabs: where a tab without its own starts. */
  #store: LastIdStore | undefined
  /** This tab's own position: where it resumes after a reload. */
  #tabStore: LastIdStore | undefined
  /** The page it was made in, whose other Herald clients it keeps in step with. */
  readonly #page = currentPage()
  /** Its place among the page's clients of its URL, which keeps its tab position apart from theirs. */
  readonly #pageSlot: number
  #lastId = ''
  /** The subject of the first token; every later token must name the same. */
  #user: string | undefined
  /** Identifies this tab in hellos and relays. */
  readonly #tabId = Math.random().toString(36).slice(2)
  /** Whether this tab applies relayed events: the leader answered its hello. */
  #joined = false
  /** The tab being joined, once known: until it welcomes this tab, only its relays wait. */
  #joining: string | undefined
  /** Leader: where the next stream starts instead of the last id, so a tab that was behind catches up. */
  #catchUpFrom: string | undefined
  /** Leader: the position the events relayed so far have reached. */
  #relayed = ''
  /** Leader: the tabs the catch-up under way is for, and whether each applies a reset addressed to it. */
  readonly #catchingUp = new Map<string, boolean>()
  /** Leader: the stream is being replaced, so what it still brings is dropped. */
  #discarding = false
  /**
   * The types other tabs listen for, for the stream's EventSource to listen for too. Kept by every
   * tab, not the leader alone, so a tab that takes over listens for them from its first stream. Those
   * of a tab that closed stay: an extra type only brings what fetch streaming brings anyway.
   */
  readonly #tabTypes = new Set<string>()
  #state: ConnectionState = 'connecting'
  #role: TabRole | undefined
  #connection: StreamConnection | undefined
  #share: TabShare<RelayMessage> | undefined
  #closed = false
  /** Ends the wait between two start-up token calls; set while the client waits so. */
  #endStartWait: (() => void) | undefined
  /** The refusal that stopped the shared connection, reported once per tab and repeated to tabs that open later. */
  #refusal: HeraldClientError | undefined
  #startToken: { readonly value: string; readonly obtainedAtMs: number } | undefined
  /** The URL and user: what the stored positions and the tab group belong to. */
  #scope = ''
  /** In the back/forward cache, or frozen: this tab holds neither the lead nor a stream until it is shown again. */
  #suspended = false
  /** Removes the page listeners (pagehide, pageshow, offline, online, freeze, resume). */
  readonly #unlistenPage: () => void

  constructor(options: HeraldClientOptions) {
    // Thrown, not reported through onError: without these the client would sit `connecting`
    // for ever (no token to ask for) or stream from `<page>/undefined`, and say nothing.
    const given = options as Partial<HeraldClientOptions> | null | undefined
    if (typeof given?.url !== 'string' || given.url === '') {
      throw new TypeError("HeraldClient needs url: the gateway's /v1/events URL, as a string")
    }
    if (typeof given.getToken !== 'function') {
      throw new TypeError('HeraldClient needs getToken: a function that returns the JWT, or a promise of it')
    }
    const problem = optionProblem(given)
    if (problem !== undefined) throw new TypeError(problem)
    this.#options = options
    this.#tokens = new TokenSource(
      () => this.#options.getToken(),
      options.tokenTimeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS,
      reportError,
    )
    const url = new URL(options.url, globalThis.location?.href)
    if (options.topics !== undefined && options.topics.length > 0)
      url.searchParams.set('topics', options.topics.join(','))
    this.#url = url.toString()
    this.#pageSlot = takePageSlot(this.#page, this.#url)
    this.#unlistenPage = listenToPage({
      pagehide: this.#onPageHide,
      pageshow: this.#onPageShow,
      offline: this.#onOffline,
      online: this.#onOnline,
      freeze: this.#onFreeze,
      resume: this.#onResume,
    })
    void this.#start()
  }

  /**
   * A page that goes into the back/forward cache is frozen, not closed: it kept the Web Lock and
   * its stream, so the other tabs waited behind a leader that relayed nothing (Chrome caches such
   * pages). It steps down and ends its stream; shown again, it joins as a tab that reloaded does.
   */
  readonly #onPageHide = (event: Event): void => {
    if ((event as PageTransitionEvent).persisted) this.#suspend()
  }

  readonly #onPageShow = (event: Event): void => {
    if ((event as PageTransitionEvent).persisted) this.#wake()
  }

  /**
   * A page frozen where it is (Chrome freezes background tabs to save power or memory) runs no
   * task until it resumes, as a cached one: a leader would hold the lock and relay nothing, and a
   * follower next in line for the lock would take it and stream nothing. So it steps down as a
   * cached page does (Page Lifecycle asks a page to release its locks and connections on freeze).
   * A page going into the cache gets both events, and a restored one both again: the first acts.
   */
  readonly #onFreeze = (): void => this.#suspend()

  readonly #onResume = (): void => this.#wake()

  #suspend(): void {
    if (this.#closed || this.#suspended) return
    this.#suspended = true
    // Before any client of the page lets its lock go, none of them may still be in line for it.
    withdrawWaitingLockRequests(this.#page)
    this.#share?.close()
    this.#share = undefined
    this.#connection?.stop()
    this.#connection = undefined
    this.#catchUpFrom = undefined
    this.#catchingUp.clear()
    this.#discarding = false
    // The leader it was joining may be gone when it is shown again: a stale one would make it
    // ignore the welcome of the one it joins then, and apply its relays before its catch-up.
    this.#joining = undefined
    this.#joined = false
    // Shown again perhaps hours later: the next stream asks for a fresh token.
    this.#startToken = undefined
  }

  #wake(): void {
    if (this.#closed || !this.#suspended) return
    this.#suspended = false
    // Stopped for good before it was hidden: nothing to join again.
    if (this.#refusal !== undefined || this.#user === undefined) return
    this.#join()
  }

  readonly #onOffline = (): void => {
    this.#connection?.networkLost()
  }

  /** Back online: the leader neither sits out a backoff that grew offline nor keeps a stream the outage may have killed. */
  readonly #onOnline = (): void => {
    this.#connection?.retrySoon()
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** Whether this tab holds the shared connection: undefined until the first token, `follower` while it waits for the lock, undefined once closed. */
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
      // The leader's stream must listen for it too. Before this tab joins, its hello names it.
      if (this.#role === 'follower') this.#share?.post({ kind: 'listen', types: [type] })
    }
    return listeners.add(handler as (notification: HeraldNotification) => void)
  }

  /** Every notification, whatever its type (with EventSource, only `message` and the types some tab passed to `on` or `types`). */
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
    this.#endStartWait?.()
    this.#unlistenPage()
    // The next client to take the slot is another, which would replay from this one's position
    // what the tab had since (a bell made again after the app's own client closed): it starts
    // from the browser's, as a new client does. A reload closes nothing, so it resumes as it was.
    this.#tabStore?.remove()
    releasePageSlot(this.#page, this.#url, this.#pageSlot)
    this.#role = undefined
    this.#share?.close()
    this.#connection?.stop()
    this.#setState('closed')
  }

  async #start(): Promise<void> {
    // The token's subject scopes the stored position and the tab group, so users never share either.
    // A token whose subject cannot be read (an endpoint not ready yet, an error page returned as
    // text) scopes nothing: it counts as a failed call, and only a run of them stops the client.
    let obtainedAtMs = Date.now()
    let token: string | undefined
    let user: string | undefined
    for (let attempt = 0, unreadable = 0; user === undefined; attempt++) {
      obtainedAtMs = Date.now()
      token = await this.#tokens.next().catch(() => undefined)
      if (this.#closed) return
      user = token === undefined ? undefined : readTokenClaims(token).sub
      if (token !== undefined && user === undefined && ++unreadable >= MAX_UNREADABLE_TOKENS) {
        this.#stopFor({
          status: 0,
          code: TOKEN_UNREADABLE_ERROR,
          message: `getToken returned ${unreadable} tokens in a row whose subject (sub) could not be read; the client stopped`,
        })
        return
      }
      if (user === undefined) {
        // Ended by close(), which must not leave a timer behind, nor a getToken call after it.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffDelay(this.#retryPolicy(), attempt))
          this.#endStartWait = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        this.#endStartWait = undefined
        if (this.#closed) return
      }
    }
    this.#startToken = { value: token!, obtainedAtMs }
    this.#user = user
    const scope = `${this.#url}|${this.#user}`
    this.#scope = scope
    const { storage } = this.#options
    this.#store = new LastIdStore(storage === undefined ? defaultStorage() : (storage ?? undefined), scope)
    this.#tabStore = new LastIdStore(
      storage === null ? undefined : defaultSessionStorage(),
      slotScope(scope, this.#pageSlot),
    )
    // After a reload, where this tab stopped: the browser's position may be past it.
    this.#lastId = this.#tabStore.get() || this.#store.get()
    this.#tracker.reset(this.#lastId)
    // Cached or frozen while the token was on its way: it joins once shown again.
    if (!this.#suspended) this.#join()
  }

  /** Streams alone, or joins this scope's tabs, which elect the one that streams. */
  #join(): void {
    if (this.#options.shareAcrossTabs === false || !canShareAcrossTabs()) {
      this.#setRole('alone')
      this.#lead()
      return
    }
    this.#setRole('follower')
    this.#share = shareAcrossTabs<RelayMessage>(
      `herald:${this.#scope}`,
      {
        lead: () => {
          this.#setRole('leader')
          // Stopped for good (a refusal, a token for another user): taking over must not start a
          // stream again. The tab still leads, so tabs that open later hear why it stopped.
          if (this.#refusal !== undefined) return () => {}
          this.#share?.post({ kind: 'leading', tab: this.#tabId })
          return this.#lead()
        },
        receive: (message) => this.#receive(message),
      },
      this.#page,
    )
    this.#hello()
  }

  /** Joins the leader: relayed events wait for its welcome, which comes after any catch-up is under way. */
  #hello(): void {
    this.#joined = false
    const types = [...(this.#options.types ?? []), ...this.#typed.keys()]
    this.#share?.post({ kind: 'hello', tab: this.#tabId, lastId: this.#lastId, resets: true, types })
  }

  #lead(): () => void {
    this.#joined = true
    this.#relayed = this.#lastId
    const transport =
      (this.#options.transport ?? 'auto') === 'auto'
        ? canStreamFetch()
          ? 'fetch'
          : 'eventsource'
        : this.#options.transport
    // A connection this tab stopped (going into the back/forward cache) still reports its end
    // later: only the current one speaks for the tab.
    const connection: StreamConnection = new StreamConnection({
      url: this.#url,
      transport: transport === 'eventsource' ? eventSourceTransport : fetchTransport,
      getToken: () => this.#tokenForSameUser(),
      ...(this.#startToken === undefined ? {} : { initialToken: this.#startToken }),
      initialRetryMs: this.#retryPolicy().baseMs,
      maxRetryMs: this.#retryPolicy().maxMs,
      lastEventId: () => {
        this.#discarding = false
        this.#relayed = this.#catchUpFrom ?? this.#lastId
        return this.#relayed
      },
      types: () => [...BUILT_IN_TYPES, ...(this.#options.types ?? []), ...this.#typed.keys(), ...this.#tabTypes],
      onEvent: (event) => {
        const { type, data, lastEventId: id } = event
        if (type === UNAVAILABLE_EVENT || this.#discarding || this.#connection !== connection) return
        // A tab of an older bundle among them would never hear an addressed reset: then every
        // tab is reset, as that bundle did it.
        if (
          type === RESET_EVENT &&
          this.#catchUpFrom !== undefined &&
          ![...this.#catchingUp.values()].includes(false)
        ) {
          this.#catchUpBeyondHistory(data, id)
          return
        }
        // The catch-up replay is over once the stream is live.
        if (type === READY_EVENT) {
          this.#catchUpFrom = undefined
          this.#catchingUp.clear()
        }
        this.#handle(type, data, id)
        // Relayed even when this tab had it: during a catch-up, the tab that was behind has not.
        if (id !== '') {
          this.#relayed = id
          // A catch-up that reconnects goes on from what it relayed, not from its start again.
          if (this.#catchUpFrom !== undefined) this.#catchUpFrom = id
        }
        this.#share?.post({ kind: 'event', leader: this.#tabId, type, data, id })
      },
      onState: (state) => {
        if (this.#connection !== connection) return
        this.#setState(state)
        this.#share?.post({ kind: 'state', state })
      },
      onRefused: ({ status, code, message }) => this.#stopFor({ status, code, message }),
    })
    this.#connection = connection
    connection.start()
    return () => connection.stop()
  }

  /**
   * Leader: the position a catch-up started from is no longer in history. The reset is for the
   * tabs that were behind, not for this one or the others, which are current: the stream goes
   * back to this tab's own position, which history still holds, so they get what was published
   * while it was away, exactly. Until then, what the replaced stream still brings (its
   * `herald.ready`, at the tail) is dropped.
   */
  #catchUpBeyondHistory(data: string, id: string): void {
    for (const tab of this.#catchingUp.keys()) this.#share?.post({ kind: 'reset', to: tab, data, id })
    this.#catchingUp.clear()
    // A tab that joins before the next stream opens is compared with where this tab is.
    this.#relayed = this.#lastId
    this.#catchUpFrom = undefined
    this.#discarding = true
    this.#connection?.reopen()
  }

  /** Stops the connection for good and tells every tab why. */
  #stopFor(error: HeraldClientError): void {
    this.#connection?.stop()
    this.#refused(error)
    this.#share?.post({ kind: 'error', error })
    this.#leaveIfLaterTabsMayConnect(error)
  }

  /**
   * A refusal of the tokens these tabs had (a 401, another user's or an unreadable one) says
   * nothing of the tokens a tab opened later will have, and a 204 nothing of whether whatever
   * answered it will still be there: a tab it stopped leaves the group, so a later tab leads with
   * its own stream instead of hearing this refusal repeated. A forbidden topic or a bad request
   * would be refused again, so a tab it stopped stays, and tells later tabs.
   */
  #leaveIfLaterTabsMayConnect(error: HeraldClientError): void {
    if (error.status !== 0 && error.status !== 401 && error.status !== 204) return
    this.#share?.close()
    this.#share = undefined
    // Out of the group, it neither leads nor follows: as after close().
    this.#role = undefined
  }

  /**
   * A token for the connection. The stored position and the tab group belong to the user the
   * client started with: a token for someone else (the app's session changed user) is not used,
   * and the client stops rather than show one user's notifications in another's page.
   */
  async #tokenForSameUser(): Promise<string> {
    const token = await this.#tokens.next()
    // One whose subject cannot be read is no other user's: the gateway judges it (a 401, then another token).
    const { sub } = readTokenClaims(token)
    if (sub !== undefined && sub !== this.#user) {
      this.#stopFor({
        status: 0,
        code: USER_CHANGED_ERROR,
        message: 'getToken returned a token for another user than the client started with; the client stopped',
      })
      throw new Error(USER_CHANGED_ERROR)
    }
    return token
  }

  #receive(message: RelayMessage): void {
    switch (message.kind) {
      case 'event':
        // Until the leader welcomes this tab, a catch-up may still replay what came before its
        // relays. The last relays of a leader that left are applied (this tab has had the others),
        // and so is a reset, as the positions after it may be lower than this tab's.
        if (
          this.#joined ||
          (this.#joining !== undefined && message.leader !== this.#joining) ||
          message.type === RESET_EVENT
        )
          this.#handle(message.type, message.data, message.id)
        return
      case 'reset':
        if (message.to === this.#tabId) this.#handle(RESET_EVENT, message.data, message.id)
        return
      case 'state':
        if (this.#role === 'follower') this.#setState(message.state)
        return
      case 'error':
        if (this.#role !== 'follower') return
        this.#refused(message.error)
        this.#leaveIfLaterTabsMayConnect(message.error)
        return
      case 'welcome':
        // A welcome from a leader that has since left does not count.
        if (message.tab === this.#tabId && (this.#joining === undefined || message.leader === this.#joining))
          this.#joined = true
        return
      case 'leading':
        // The new leader streams from its own position, which may be past this tab's.
        if (this.#role !== 'follower') return
        this.#joining = message.tab
        this.#hello()
        return
      case 'hello':
        // Before the welcome: the stream listens for the tab's types by the time it applies relays.
        this.#listenFor(message.types ?? [])
        if (this.#role === 'leader') this.#welcome(message.tab, message.lastId, message.resets === true)
        return
      case 'listen':
        this.#listenFor(message.types)
        return
    }
  }

  /** Another tab listens for these types: so does the stream, if this tab leads, and the next it opens. */
  #listenFor(types: readonly string[]): void {
    for (const type of types) {
      if (this.#tabTypes.has(type)) continue
      this.#tabTypes.add(type)
      this.#connection?.listen(type)
    }
  }

  /**
   * Leader: a tab joins. If it lacks something this tab has or has relayed, stream again from its
   * position first (or from where the relays are, if earlier, for a tab still catching up).
   */
  #welcome(tab: string, lastId: string, resets: boolean): void {
    const behind = isBehind(lastId, this.#lastId) || isBehind(lastId, this.#relayed)
    if (behind) {
      this.#catchUpFrom = earliestPosition(lastId, this.#relayed)
      this.#relayed = this.#catchUpFrom
      this.#catchingUp.set(tab, resets)
    }
    // Everything relayed after this comes from a stream that starts at or before the tab's position.
    this.#share?.post({ kind: 'welcome', tab, leader: this.#tabId })
    if (behind) this.#connection?.reopen()
    // Where the connection stands, and why it stopped if it did.
    this.#share?.post({ kind: 'state', state: this.#state })
    if (this.#refusal !== undefined) this.#share?.post({ kind: 'error', error: this.#refusal })
  }

  /** Reports a refusal, once: the leader repeats it to every tab that opens later, which all tabs hear. */
  #refused(error: HeraldClientError): void {
    if (this.#refusal !== undefined) return
    this.#refusal = error
    // Every tab's connection has stopped for good, not only the leader's.
    this.#setState('closed')
    this.#errors.emit(error)
  }

  /** Applies one event, from the stream or from the leader, unless this tab already had it. */
  #handle(type: string, data: string, id: string): void {
    if (type === UNAVAILABLE_EVENT) return
    // Positions only: where to resume from, including a quiet channel's tail (POSITION_EVENT).
    if (type === READY_EVENT || type === POSITION_EVENT) {
      if (this.#tracker.observe(id) === 'new') this.#remember(id)
      return
    }
    if (type === RESET_EVENT) {
      if (this.#tracker.reset(id) === 'new') this.#remember(id)
      // A reason this bundle does not know (a later gateway's) passes as it is; one that is no
      // string (a broken proxy's) would break an app's string handling, and says nothing.
      const reason: unknown = (parseJson(data) as { reason?: unknown } | undefined)?.reason
      this.#resets.emit({ reason: typeof reason === 'string' && reason !== '' ? reason : 'unknown' })
      return
    }
    // One this bundle does not know (a later gateway's) is not the app's: only its position counts,
    // as herald.position's would have, had bundles from before it not passed it on as a notification.
    if (type.startsWith(RESERVED_TYPE_PREFIX)) {
      if (this.#tracker.observe(id) === 'new') this.#remember(id)
      return
    }
    // An id that is no resume token cannot be compared: the event is delivered rather than dropped.
    const seen = this.#tracker.observe(id)
    if (seen === 'seen') return
    if (seen === 'new') this.#remember(id)
    const notification: HeraldNotification = { type, data: parseJson(data), id }
    this.#typed.get(type)?.emit(notification)
    this.#notifications.emit(notification)
  }

  /**
   * Keeps `id` as the position to resume from. Only resume tokens come here (the tracker read
   * them): another id (a broken server's or proxy's) could not go back. One with a character a
   * header cannot carry failed every later attempt before it was sent, and one past 16 KiB was
   * answered 431, which stopped the client in every tab.
   */
  #remember(id: string): void {
    this.#lastId = id
    this.#tabStore?.set(id)
    if (this.#role !== 'follower') this.#store?.set(id)
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

/** Reports an app bug (a getToken returning a non-string) as an uncaught error would be, without throwing. */
function reportError(error: Error): void {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error)
  else console.error(error)
}

type PageEvent = 'pagehide' | 'pageshow' | 'offline' | 'online' | 'freeze' | 'resume'

/** Page Lifecycle's events fire on the document; the others on the window. */
const DOCUMENT_EVENTS: ReadonlySet<string> = new Set<PageEvent>(['freeze', 'resume'])

/** Listens to the page's events where there is a page (not in a worker or Node); returns how to stop. */
function listenToPage(handlers: Readonly<Record<PageEvent, (event: Event) => void>>): () => void {
  const { addEventListener: add, removeEventListener: remove } = globalThis
  if (typeof add !== 'function' || typeof remove !== 'function') return () => {}
  const pageDocument = (globalThis as { document?: EventTarget }).document
  const entries = Object.entries(handlers)
  for (const [type, handler] of entries) {
    if (!DOCUMENT_EVENTS.has(type)) add(type, handler)
    else pageDocument?.addEventListener(type, handler)
  }
  return () => {
    for (const [type, handler] of entries) {
      if (!DOCUMENT_EVENTS.has(type)) remove(type, handler)
      else pageDocument?.removeEventListener(type, handler)
    }
  }
}
