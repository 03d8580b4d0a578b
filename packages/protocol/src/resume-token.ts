/**
 * The resume token: the SSE `id:` a client echoes back as `Last-Event-ID`.
 *
 * A connection listens to several channels (its user and its topics), each
 * with its own history, so one position is not enough: the token carries a
 * position per channel, `<tag>:<ms>-<seq>` joined by commas, for example
 * `u1c3a4f2e:1700000000000-0,t9b0e11aa:1700000000123-4`. Clients treat it as
 * opaque. The format is documented in docs/protocol.md.
 */

import { parseStreamId, type StreamId } from './stream-id.js'

/** Longer tokens are refused as malformed; it bounds parsing work per request. */
export const MAX_RESUME_TOKEN_LENGTH = 4096
export const MAX_RESUME_COMPONENTS = 64

const TAG = /^[ut][0-9a-f]{8}$/

/** One `<tag>:<id>` component; the hot path keeps these and joins them. */
export function resumeComponent(tag: string, streamId: string): string {
  return `${tag}:${streamId}`
}

export function encodeResumeToken(components: readonly string[]): string {
  return components.join(',')
}

/**
 * Decodes a token into positions by channel tag, or `undefined` when it is
 * malformed: too long, a bad component, or a tag given twice.
 */
export function decodeResumeToken(token: string): Map<string, StreamId> | undefined {
  if (token.length === 0 || token.length > MAX_RESUME_TOKEN_LENGTH) return undefined
  const parts = token.split(',')
  if (parts.length > MAX_RESUME_COMPONENTS) return undefined
  const positions = new Map<string, StreamId>()
  for (const part of parts) {
    const colon = part.indexOf(':')
    if (colon < 0) return undefined
    const tag = part.slice(0, colon)
    const id = parseStreamId(part.slice(colon + 1))
    if (!TAG.test(tag) || id === undefined || positions.has(tag)) return undefined
    positions.set(tag, id)
  }
  return positions
}
