/**
 * What the bell shows for a notification: a title and a body read from the
 * payload by convention (`title`, `body`, `sentAt`), falling back to the
 * event type and the payload itself. Pure, so the rules are unit tested.
 */

import type { HeraldNotification } from '../client-options.js'

export interface BellItem {
  readonly id: string
  readonly type: string
  readonly title: string
  readonly body: string
  readonly at: number
  read: boolean
}

export function toBellItem(notification: HeraldNotification, nowMs: number): BellItem {
  const { data } = notification
  const fields = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {}
  const text = typeof data === 'string' ? data : JSON.stringify(data)
  return {
    id: notification.id,
    type: notification.type,
    title: typeof fields['title'] === 'string' ? fields['title'] : notification.type,
    body: typeof fields['body'] === 'string' ? fields['body'] : text,
    at: isDateMs(fields['sentAt']) ? fields['sentAt'] : nowMs,
    read: false,
  }
}

/** The largest time a Date holds, in ms either side of 1970. */
const MAX_DATE_MS = 8.64e15

/**
 * Whether `value` is a time a Date can hold: publishers may send any finite number, and
 * `new Date(1e300).toISOString()` throws, which would break every render of the bell.
 */
function isDateMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_DATE_MS
}

/** "just now", "5 min ago" and so on. */
export function timeAgo(atMs: number, nowMs: number): string {
  const s = Math.round((nowMs - atMs) / 1000)
  if (s < 10) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return new Date(atMs).toLocaleString()
}

/**
 * How close together notifications count as one burst for the live region. A polite region is
 * read when the screen reader is idle, and only as it reads then: announcing each of a burst
 * in turn would leave only the last, as if it had come alone.
 */
export const ANNOUNCE_BURST_MS = 2000

/** What the live region says for `count` notifications of one burst, the latest titled `title`. */
export function announcement(count: number, title: string): string {
  return count === 1 ? `New notification: ${title}` : `${count} new notifications, the latest: ${title}`
}
