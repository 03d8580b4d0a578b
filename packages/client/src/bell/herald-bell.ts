/**
 * `<herald-bell>`: an unread badge and a dropdown list of notifications, as
 * a framework-free custom element. Feed it either way:
 *
 * - attributes: `src` (the events URL) and `token-url` (POSTed with the
 *   page's cookies, answering `{"token": "..."}`), optional `topics`;
 * - or the `client` property, a HeraldClient the app already has. The bell listens
 *   to it only while in the page, so a bell the app throws away is not kept by it.
 *
 * Accessibility: a real button whose label carries the unread count,
 * `aria-expanded`/`aria-controls` for the panel, Escape closes it alone and returns
 * focus (wherever focus is while the panel is open: a click on its text moves it to the body),
 * Tab out of the panel closes it, unread rows say so in words and by a border (not colour
 * alone), and new notifications are announced politely. It fires
 * `herald-notification` and `herald-reset` (bubbling, composed) so the app
 * can react, e.g. refetch its list after a reset.
 */

import { HeraldClient } from '../client.js'
import type { HeraldNotification } from '../client-options.js'
import type { ConnectionState } from '../stream-connection.js'
import { BellInbox, maxItemsOf } from './bell-inbox.js'
import { ANNOUNCE_BURST_MS, announcement, type BellItem, timeAgo, toBellItem } from './bell-items.js'
import { BELL_MARKUP, BELL_STYLE } from './bell-template.js'

/** What the bell needs from a client; any HeraldClient has it. */
export type BellSource = Pick<HeraldClient, 'onNotification' | 'onReset' | 'onStateChange' | 'state'>

/** The room left between a panel moved into the viewport and its side: as the default width leaves. */
const PANEL_MARGIN_PX = 12

/**
 * Where there is no DOM (a server render, a test in Node), importing the bell must not throw:
 * the class then extends a stand-in, and bell.ts registers nothing.
 */
const ElementBase: typeof HTMLElement =
  typeof HTMLElement === 'undefined' ? (class {} as unknown as typeof HTMLElement) : HTMLElement

export class HeraldBellElement extends ElementBase {
  static readonly observedAttributes = ['src', 'token-url', 'topics']

  #client: BellSource | undefined
  #ownClient: HeraldClient | undefined
  #unsubscribe: Array<() => void> = []
  readonly #inbox = new BellInbox()
  #clientScheduled = false
  /**
   * What the list came from: the client the app set, or the attributes a client was made from.
   * Another source may be another user, whose bell must not show the last one's notifications.
   */
  #feed: unknown
  readonly #root: ShadowRoot
  readonly #button: HTMLButtonElement
  readonly #badge: HTMLElement
  readonly #panel: HTMLElement
  readonly #list: HTMLOListElement
  readonly #empty: HTMLElement
  readonly #notice: HTMLElement
  readonly #live: HTMLElement
  /** The notifications of the burst the live region announces, and when it began. */
  #burst = 0
  #burstStartMs = Number.NEGATIVE_INFINITY
  readonly #markRead: HTMLButtonElement

  constructor() {
    super()
    this.#root = this.attachShadow({ mode: 'open' })
    this.#root.innerHTML = `<style>${BELL_STYLE}</style>${BELL_MARKUP}`
    const $ = <T extends Element>(selector: string) => this.#root.querySelector(selector) as T
    this.#button = $('.bell')
    this.#badge = $('.badge')
    this.#panel = $('.panel')
    this.#list = $('ol')
    this.#empty = $('.empty')
    this.#notice = $('.notice')
    this.#live = $('.live')
    this.#markRead = $('.mark-read')
    this.#button.addEventListener('click', () => this.toggle())
    this.#markRead.addEventListener('click', () => this.markAllRead())
    this.addEventListener('focusout', this.#onFocusOut)
  }

  /** The client feeding the bell. Setting it replaces one created from attributes. */
  get client(): BellSource | undefined {
    return this.#client
  }

  set client(client: BellSource | undefined) {
    this.#closeOwnClient()
    this.#feedFrom(client)
    this.#attach(client)
  }

  get open(): boolean {
    return !this.#panel.hidden
  }

  /** Unread notifications, counting those beyond `max-items`. */
  get unread(): number {
    return this.#inbox.unread
  }

  /** The notifications shown, newest first. */
  get items(): readonly Readonly<BellItem>[] {
    return this.#inbox.items
  }

  toggle(open = !this.open): void {
    this.#panel.hidden = !open
    this.#button.setAttribute('aria-expanded', String(open))
    if (open) {
      this.#place()
      this.#render()
      document.addEventListener('click', this.#onOutsideClick)
      document.addEventListener('keydown', this.#onKeydown)
      // A phone turned, or a window narrowed, while the panel is open: placed again.
      window.addEventListener('resize', this.#onResize)
    } else this.#stopListeningToDocument()
  }

  markAllRead(): void {
    if (this.unread === 0) return
    this.#inbox.markAllRead()
    this.#render()
  }

  connectedCallback(): void {
    // A `client` set on the element before it was upgraded is an own property hiding the setter.
    if (Object.hasOwn(this, 'client')) {
      const client = (this as { client?: BellSource }).client
      delete (this as { client?: BellSource }).client
      this.client = client
    }
    if (this.#client !== undefined && this.#unsubscribe.length === 0) this.#listen(this.#client)
    this.#render()
    this.#scheduleClientFromAttributes()
  }

  disconnectedCallback(): void {
    this.#stopListeningToDocument()
    this.#closeOwnClient()
    // The app's client outlives the bell: a bell left subscribed to it would be kept, with its
    // shadow DOM, for as long as the client lives (one per render in a single-page app). Put
    // back in the page, it listens again, its list as it was.
    this.#stopListening()
  }

  attributeChangedCallback(): void {
    if (this.isConnected) this.#scheduleClientFromAttributes()
  }

  /** Several attributes change at once (parsing, upgrade): build one client after the last. */
  #scheduleClientFromAttributes(): void {
    if (this.#clientScheduled) return
    this.#clientScheduled = true
    queueMicrotask(() => {
      this.#clientScheduled = false
      // A client the app set wins over attributes.
      if (!this.isConnected || (this.#client !== undefined && this.#ownClient === undefined)) return
      this.#closeOwnClient()
      this.#createClientFromAttributes()
    })
  }

  #createClientFromAttributes(): void {
    const src = this.getAttribute('src')
    const tokenUrl = this.getAttribute('token-url')
    const topics = (this.getAttribute('topics') ?? '').split(',').filter((t) => t !== '')
    // The same attributes again (the bell moved in the page) keep the list; the new client resumes after it.
    this.#feedFrom(JSON.stringify([src, tokenUrl, topics]))
    if (src === null || tokenUrl === null) return
    this.#ownClient = new HeraldClient({ url: src, topics, getToken: () => fetchToken(tokenUrl) })
    this.#attach(this.#ownClient)
  }

  /** Feeds the bell from `client`; it listens while the bell is in the page. */
  #attach(client: BellSource | undefined): void {
    this.#stopListening()
    this.#client = client
    if (client !== undefined && this.isConnected) this.#listen(client)
  }

  #stopListening(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    this.#unsubscribe = []
  }

  #listen(client: BellSource): void {
    this.#setState(client.state)
    this.#unsubscribe.push(
      client.onNotification((n) => this.#add(n)),
      client.onStateChange((state) => this.#setState(state)),
      client.onReset((reset) => {
        this.#notice.textContent = 'Some notifications may be missing.'
        this.#notice.hidden = false
        this.dispatchEvent(new CustomEvent('herald-reset', { detail: reset, bubbles: true, composed: true }))
      }),
    )
  }

  /** Starts the bell empty (list, count, notice, announcement) when its source changes. */
  #feedFrom(feed: unknown): void {
    if (feed === this.#feed) return
    this.#feed = feed
    this.#inbox.clear()
    this.#notice.hidden = true
    this.#notice.textContent = ''
    this.#live.textContent = ''
    this.#burst = 0
    this.#burstStartMs = Number.NEGATIVE_INFINITY
    this.#list.replaceChildren()
    this.#render()
  }

  #closeOwnClient(): void {
    if (this.#ownClient === undefined) return
    this.#ownClient.close()
    if (this.#client === this.#ownClient) this.#attach(undefined)
    this.#ownClient = undefined
  }

  #add(notification: HeraldNotification): void {
    const item = toBellItem(notification, Date.now())
    this.#inbox.add(item, maxItemsOf(this.getAttribute('max-items')))
    const now = Date.now()
    if (now - this.#burstStartMs >= ANNOUNCE_BURST_MS) {
      this.#burstStartMs = now
      this.#burst = 0
    }
    this.#burst++
    this.#live.textContent = announcement(this.#burst, item.title)
    this.#render()
    this.dispatchEvent(new CustomEvent('herald-notification', { detail: notification, bubbles: true, composed: true }))
  }

  #setState(state: ConnectionState): void {
    this.setAttribute('state', state)
  }

  #render(): void {
    const unread = this.unread
    this.#badge.textContent = unread > 99 ? '99+' : String(unread)
    this.#badge.hidden = unread === 0
    this.#button.setAttribute('aria-label', `Notifications, ${unread} unread`)
    // aria-disabled, not disabled: a focused button that disables itself drops focus to the body,
    // and the scrolling panel would hold nothing a keyboard can reach.
    this.#markRead.setAttribute('aria-disabled', String(unread === 0))
    this.#empty.hidden = this.#inbox.items.length > 0
    if (!this.open) return
    const now = Date.now()
    this.#list.replaceChildren(...this.#inbox.items.map((item) => renderItem(item, now)))
  }

  /**
   * Keeps the open panel in the viewport, when it opens and when the viewport resizes. It hangs from the bell's right edge, which suits a
   * bell in a top bar's right corner; a bell near the left edge (or a narrow screen) would put it
   * off-screen, so it is nudged right, never past the right edge unless it is wider than the
   * viewport. A nudge, not new offsets: `::part(panel)` may place the panel otherwise, and the
   * nudge corrects wherever that puts it.
   */
  #place(): void {
    this.#panel.style.removeProperty('--_nudge')
    const { left, right } = this.#panel.getBoundingClientRect()
    const viewport = document.documentElement.clientWidth
    // Only a panel that overflows moves, and then it keeps a margin from the side it overflowed.
    let nudge = right > viewport ? viewport - PANEL_MARGIN_PX - right : 0
    if (left + nudge < 0) nudge = PANEL_MARGIN_PX - left
    if (nudge !== 0) this.#panel.style.setProperty('--_nudge', `${nudge}px`)
  }

  #stopListeningToDocument(): void {
    document.removeEventListener('click', this.#onOutsideClick)
    document.removeEventListener('keydown', this.#onKeydown)
    window.removeEventListener('resize', this.#onResize)
  }

  readonly #onResize = (): void => this.#place()

  /**
   * Focus that leaves for the page (Tab past the panel's last control) closes the panel: left
   * open, it covers what now has focus. Focus that goes nowhere (a click on the panel's text,
   * another window) leaves it open.
   */
  readonly #onFocusOut = (event: FocusEvent): void => {
    const to = event.relatedTarget
    if (!this.open || !(to instanceof Node) || to === this || this.contains(to) || this.#root.contains(to)) return
    this.toggle(false)
  }

  readonly #onOutsideClick = (event: Event): void => {
    if (!event.composedPath().includes(this)) this.toggle(false)
  }

  /** On the document, not the shadow root: a click on the panel's text leaves focus on the body. */
  readonly #onKeydown = (event: KeyboardEvent): void => {
    if (event.key !== 'Escape') return
    // Handled: a <dialog> the bell is in must not close too (a canceled keydown sends no close request).
    event.preventDefault()
    this.toggle(false)
    this.#button.focus()
  }
}

function renderItem(item: BellItem, nowMs: number): HTMLLIElement {
  const li = document.createElement('li')
  const title = document.createElement('span')
  title.className = 'title'
  if (!item.read) {
    li.className = 'unread'
    // The background says it to the eye only: the border says it in forced colours too, and
    // these words to a screen reader.
    const unread = document.createElement('span')
    unread.className = 'sr-only'
    unread.textContent = 'Unread: '
    title.append(unread)
  }
  title.append(item.title)
  const body = document.createElement('p')
  body.className = 'body'
  body.textContent = item.body
  const time = document.createElement('time')
  time.dateTime = new Date(item.at).toISOString()
  time.textContent = timeAgo(item.at, nowMs)
  li.append(title, body, time)
  return li
}

async function fetchToken(tokenUrl: string): Promise<string> {
  const response = await fetch(tokenUrl, { method: 'POST', credentials: 'include' })
  const body = (await response.json()) as { token?: unknown }
  if (!response.ok || typeof body.token !== 'string') throw new Error(`token endpoint answered ${response.status}`)
  return body.token
}
