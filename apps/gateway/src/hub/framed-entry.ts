/**
 * A history entry framed for the wire, once per message however many
 * connections receive it. The bytes are built lazily: a channel whose
 * listeners all share one resume token (single-channel connections) needs
 * only the complete frame; multi-channel connections need only the body.
 */

import { type Channel, frameEventBody, frameIdAndEnd, resumeComponent, type StreamId } from '@herald/protocol'
import type { HistoryEntry } from '../broker/broker.js'

export class FramedEntry {
  /** This channel's `<tag>:<id>` resume-token component. */
  readonly component: string
  #body: Buffer | undefined
  #singleChannelFrame: Buffer | undefined

  constructor(
    readonly channel: Channel,
    readonly entry: HistoryEntry,
    readonly position: StreamId,
  ) {
    this.component = resumeComponent(channel.tag, entry.id)
  }

  /** `event:` and `data:` lines, without `id:` and the blank line. */
  get body(): Buffer {
    this.#body ??= Buffer.from(frameEventBody(this.entry.type, this.entry.data))
    return this.#body
  }

  /** The whole frame for a connection that listens to this channel only. */
  get singleChannelFrame(): Buffer {
    this.#singleChannelFrame ??= Buffer.from(
      frameEventBody(this.entry.type, this.entry.data) + frameIdAndEnd(this.component),
    )
    return this.#singleChannelFrame
  }
}
