/**
 * The Pub/Sub announcement `herald_publish` sends: `<id>\n<type>\n<data>`,
 * with an empty type for untyped messages. The data (JSON) comes last, so it
 * is never scanned; only the first two line breaks are looked for.
 */

import type { HistoryEntry } from './broker.js'

export function parseAnnouncement(message: string): HistoryEntry | undefined {
  const idEnd = message.indexOf('\n')
  const typeEnd = idEnd < 0 ? -1 : message.indexOf('\n', idEnd + 1)
  if (typeEnd < 0) return undefined
  const id = message.slice(0, idEnd)
  const type = message.slice(idEnd + 1, typeEnd)
  return {
    id,
    type: type === '' ? undefined : type,
    data: message.slice(typeEnd + 1),
    publishedAtMs: Number.parseInt(id, 10),
  }
}
