/**
 * Keeps the last event id (a resume token) in localStorage, so a reload or
 * a new tab resumes where the browser left off instead of starting fresh.
 * Keyed by gateway URL, user and topics: another user on the same browser,
 * or another subscription, never resumes from someone else's position.
 * Storage can be missing or throw (privacy modes, quotas); the client then
 * still works, it only forgets across reloads. What storage holds is not
 * trusted: a value that is not a resume token (written by hand, by another
 * script, or cut short) is ignored, so the client connects fresh instead of
 * failing every attempt on a header fetch cannot send.
 */

import { decodeResumeToken } from '@herald/protocol'

export interface KeyValueStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem?(key: string): void
}

export class LastIdStore {
  readonly #key: string

  constructor(
    private readonly storage: KeyValueStorage | undefined,
    scope: string,
  ) {
    this.#key = `herald:last-event-id:${scope}`
  }

  /** The stored resume token, or '' when there is none or it breaks the token grammar. */
  get(): string {
    let stored: string | null | undefined
    try {
      stored = this.storage?.getItem(this.#key)
    } catch {
      return ''
    }
    return typeof stored === 'string' && decodeResumeToken(stored) !== undefined ? stored : ''
  }

  set(id: string): void {
    try {
      this.storage?.setItem(this.#key, id)
    } catch {
      // Quota or privacy mode: resuming across reloads is best effort.
    }
  }

  /** Forgets the position, where the storage can. */
  remove(): void {
    try {
      this.storage?.removeItem?.(this.#key)
    } catch {
      // As for set.
    }
  }
}

/** The browser's localStorage when it can be used. */
export function defaultStorage(): KeyValueStorage | undefined {
  try {
    return globalThis.localStorage ?? undefined
  } catch {
    return undefined
  }
}

/** The tab's sessionStorage when it can be used: it survives a reload of that tab only. */
export function defaultSessionStorage(): KeyValueStorage | undefined {
  try {
    return globalThis.sessionStorage ?? undefined
  } catch {
    return undefined
  }
}
