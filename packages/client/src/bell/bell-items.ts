/**
 * What the bell shows for a notification: a title and a body read from the
 * payload by convention (`title`, `body`, `sentAt`), falling back to the
 * event type and the payload itself. Pure, so the rules are unit tested.
 */

import type { HeraldNotification } from '../client.js'

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
    at: typeof fields['sentAt'] === 'number' ? fields['sentAt'] : nowMs,
    read: false,
  }
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
