/**
 * Decodes the reply of the `herald_read` Redis function (docs/redis-contract.md)
 * into a history read. Pure, so the reply's shape is unit-tested without Redis.
 *
 * The reply is a flat array: an outcome (`trimmed`, `unknown`, `entries` or
 * `more`), then, for `entries` and `more`, three strings per entry: its stream id,
 * its event type ('' for none) and its data.
 */

import type { HistoryEntry, HistoryRead } from './broker.js'

export function parseHistoryReply(reply: readonly string[]): HistoryRead {
  const outcome = reply[0]
  if (outcome === 'trimmed' || outcome === 'unknown') return { outcome }
  const entries: HistoryEntry[] = []
  for (let i = 1; i + 2 < reply.length; i += 3) {
    const id = reply[i]!
    const type = reply[i + 1]!
    entries.push({
      id,
      type: type === '' ? undefined : type,
      data: reply[i + 2]!,
      // A stream id starts with the milliseconds Redis stamped the entry with.
      publishedAtMs: Number.parseInt(id, 10),
    })
  }
  return outcome === 'more' ? { outcome: 'entries', entries, truncated: true } : { outcome: 'entries', entries }
}
