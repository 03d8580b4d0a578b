/**
 * One connection per browser: every tab of an origin that subscribes to the
 * same scope asks for the same Web Lock; the tab holding it leads (owns the
 * connection) and relays what it receives over a BroadcastChannel. The lock
 * is held for the tab's lifetime, so when the leader closes or crashes the
 * browser grants it to the next tab in line, which connects from the last id
 * it saw; receivers drop what they already have, so the handover loses and
 * duplicates nothing.
 */

import { currentPage, type Page, pageRecord } from './page-registry.js'

export interface TabShare<M> {
  /** Sends to every other tab in the scope; does nothing once closed. */
  post(message: M): void
  close(): void
}

export interface TabShareHandlers<M> {
  /** This tab now leads; returns how to stop leading. */
  lead(): () => void
  receive(message: M): void
}

/** Whether this browser can elect a leader (Web Locks need a secure context; http://localhost counts). */
export function canShareAcrossTabs(): boolean {
  return typeof BroadcastChannel === 'function' && typeof navigator !== 'undefined' && navigator.locks !== undefined
}

export function shareAcrossTabs<M>(
  name: string,
  handlers: TabShareHandlers<M>,
  page: Page = currentPage(),
): TabShare<M> {
  const channel = new BroadcastChannel(name)
  channel.onmessage = (event: MessageEvent<M>) => handlers.receive(event.data)
  const abort = new AbortController()
  const waiting = waitingLockRequests(page)
  const giveUpWaiting = () => abort.abort()
  waiting.add(giveUpWaiting)
  let release: (() => void) | undefined
  let stopLeading: (() => void) | undefined
  let closed = false
  navigator.locks
    .request(name, { mode: 'exclusive', signal: abort.signal }, () => {
      waiting.delete(giveUpWaiting)
      // Granted, then closed before this ran (the callback comes in a later task, and an abort
      // after the grant withdraws nothing): leading now would stream for a closed client, and
      // hold the lock from the next tab for good.
      if (closed) return
      stopLeading = handlers.lead()
      return new Promise<void>((resolve) => {
        release = resolve
      })
    })
    // Rejects with AbortError when the tab closes the client before it led.
    .catch(() => {})
  return {
    post(message) {
      // The connection reports its end (`closed`) after the close that stopped it: nobody is left to tell.
      if (!closed) channel.postMessage(message)
    },
    close() {
      if (closed) return
      closed = true
      waiting.delete(giveUpWaiting)
      abort.abort()
      stopLeading?.()
      release?.()
      channel.close()
    },
  }
}

/**
 * Withdraws the lock requests of every client in this page that still wait, before a client of
 * the page that is being frozen or cached lets its lock go: the browser would grant the lock to
 * the next request in line, which may be another client of this same page (a bell beside the
 * app's own client), whose callback cannot run until the page resumes. It then held the lock,
 * and every other tab of the user heard nothing for as long as the page stayed frozen (10 s of
 * 10 s, in a probe). Each of those clients steps down in the same event, and asks again once shown.
 */
export function withdrawWaitingLockRequests(page: Page): void {
  for (const giveUp of [...waitingLockRequests(page)]) giveUp()
}

function waitingLockRequests(page: Page): Set<() => void> {
  return pageRecord('waiting-lock-requests.v1', page, () => new Set<() => void>())
}
