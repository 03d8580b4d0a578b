/**
 * A history entry framed for the wire, once per message however many
 * connections receive it. Built lazily: single-channel connections share one
 * complete frame (the same Buffer goes to every socket); multi-channel
 * connections append their own `id:` line to the shared body text.
 */

import { type Channel, frameEventBody, frameIdAndEnd, resumeComponent, type StreamId } from '@herald/protocol'
import type { HistoryEntry } from '../broker/broker.js'
import { frameChunk } from './http-chunk.js'

export class FramedEntry {
  /** This channel's `<tag>:<id>` resume-token component. */
  readonly component: string
  #bodyText: string | undefined
  #bodyByteLength = -1
  #singleChannelFrame: Buffer | undefined
  #singleChannelChunk: Buffer | undefined

  constructor(
    readonly channel: Channel,
    readonly entry: HistoryEntry,
    readonly position: StreamId,
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
  get singleChannelFrame(): Buffer {
    this.#singleChannelFrame ??= Buffer.from(this.bodyText + frameIdAndEnd(this.component))
    return this.#singleChannelFrame
  }

  /** {@link singleChannelFrame} as one HTTP/1.1 chunk. */
  get singleChannelChunk(): Buffer {
    this.#singleChannelChunk ??= frameChunk(this.singleChannelFrame)
    return this.#singleChannelChunk
  }
}
