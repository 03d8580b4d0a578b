/**
 * An in-memory Web Locks manager for tests: Node has BroadcastChannel but no `navigator.locks`.
 * One instance stands for one browser profile, whose "tabs" (clients) queue for an exclusive
 * lock by name, in order; a request can be withdrawn with its signal, as tab-share.ts does.
 */

type LockCallback = (lock: { readonly name: string; readonly mode: 'exclusive' }) => unknown

export class FakeLockManager {
  readonly #waiting = new Map<string, Array<() => void>>()
  readonly #held = new Set<string>()

  request(name: string, options: { readonly signal?: AbortSignal }, callback: LockCallback): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const { signal } = options
      if (signal?.aborted) return reject(new DOMException('The request was aborted.', 'AbortError'))
      const queue = this.#waiting.get(name) ?? []
      this.#waiting.set(name, queue)
      const onAbort = () => {
        queue.splice(queue.indexOf(grant), 1)
        reject(new DOMException('The request was aborted.', 'AbortError'))
      }
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        this.#held.add(name)
        // The lock is held until the callback's promise settles.
        Promise.resolve()
          .then(() => callback({ name, mode: 'exclusive' }))
          .then(resolve, reject)
          .finally(() => {
            this.#held.delete(name)
            queue.shift()?.()
          })
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      if (this.#held.has(name)) queue.push(grant)
      else grant()
    })
  }
}
