/**
 * One connection per browser: every tab of an origin that subscribes to the
 * same scope asks for the same Web Lock; the tab holding it leads (owns the
 * connection) and relays what it receives over a BroadcastChannel. The lock
 * is held for the tab's lifetime, so when the leader closes or crashes the
 * browser grants it to the next tab in line, which connects from the last id
 * it saw; receivers drop what they already have, so the handover loses and
 * duplicates nothing.
 */

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

export function shareAcrossTabs<M>(name: string, handlers: TabShareHandlers<M>): TabShare<M> {
  const channel = new BroadcastChannel(name)
  channel.onmessage = (event: MessageEvent<M>) => handlers.receive(event.data)
  const abort = new AbortController()
  let release: (() => void) | undefined
  let stopLeading: (() => void) | undefined
  let closed = false
  navigator.locks
    .request(name, { mode: 'exclusive', signal: abort.signal }, () => {
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
      abort.abort()
      stopLeading?.()
      release?.()
      channel.close()
    },
  }
}
