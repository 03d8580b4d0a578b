/**
 * A history entry framed for the wire, once per message however many
 * connections receive it. Built lazily: single-channel connections share one
 * complete frame; multi-channel connections append their own `id:` line to
 * the shared body text. A frame for many sockets is encoded to a Buffer once;
 * a frame for one socket (a user's only tab, a replay) stays a string, which
 * the socket encodes as it writes, saving two Buffer allocations per event.
 */

import { type Channel, frameEventBody, frameIdAndEnd, resumeComponent, type StreamId } from '@herald/protocol'
import type { HistoryEntry } from '../broker/broker.js'
import { CRLF, chunkHeader, frameChunk } from './http-chunk.js'

export class FramedEntry {
  /** This channel's `<tag>:<id>` resume-token component. */
  readonly component: string
  #bodyText: string | undefined
  #bodyByteLength = -1
  #singleChannelFrame: Buffer | string | undefined
  #singleChannelChunk: Buffer | string | undefined

  constructor(
    readonly channel: Channel,
    readonly entry: HistoryEntry,
    readonly position: StreamId,
    /** Whether more than one socket receives it. */
    private readonly shared: boolean,
  ) {
    this.component = resumeComponent(channel.tag, entry.id)
  }

  /** `event:` and `data:` lines, without `id:` and the blank line. */
  get bodyText(): string {
    this.#bodyText ??= frameEventBody(this.entry.type, this.entry.data)
    return this.#bodyText
  }

  get bodyByteLength(): number {
    if (this.#bodyByteLength < 0) this.#bodyByteLength = Buffer.byteLength(this.bodyText)
    return this.#bodyByteLength
  }

  /** The whole frame for a connection that listens to this channel only. */
  get singleChannelFrame(): Buffer | string {
    if (this.#singleChannelFrame === undefined) {
      const text = this.bodyText + frameIdAndEnd(this.component)
      this.#singleChannelFrame = this.shared ? Buffer.from(text) : text
    }
    return this.#singleChannelFrame
  }

  /** {@link singleChannelFrame} as one HTTP/1.1 chunk. */
  get singleChannelChunk(): Buffer | string {
    if (this.#singleChannelChunk === undefined) {
      const frame = this.singleChannelFrame
      this.#singleChannelChunk =
        typeof frame === 'string' ? chunkHeader(Buffer.byteLength(frame)) + frame + CRLF : frameChunk(frame)
    }
    return this.#singleChannelChunk
  }
}
