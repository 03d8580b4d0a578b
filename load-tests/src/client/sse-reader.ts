/**
 * Reads an SSE response straight off a socket: the HTTP head, chunked transfer coding, and the
 * event-stream fields the harness needs (event, data, id, retry, comments). Byte-level and allocation-light,
 * because the load client shares the machine's two cores with the server it measures; payloads are
 * ASCII so latin1 decoding is exact. Pure: bytes in, callbacks out.
 */

export interface SseSink {
  /** The response status, once the head is complete. */
  onHead(status: number): void
  /** A dispatched event; the reader's `lastEventId` is the id in force. */
  onEvent(type: string, data: string): void
  onRetry(delayMs: number): void
  /** A comment line (`:`…): how SSE servers send heartbeats. */
  onComment(): void
  /** The response body ended (last chunk, or Content-Length reached): a stream is over even if the socket stays open. */
  onEnd(): void
}

enum Body {
  Head,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Identity,
  Done,
}

export class SseResponseReader {
  #body = Body.Head
  #head = ''
  #sizeText = ''
  #remaining = 0
  /** Bytes left of an identity body with a Content-Length; -1 until the connection closes. */
  #identityLeft = -1
  #skip = 0
  #pending = ''
  #data = ''
  #hasData = false
  #type = ''
  /**
   * The last event id, as bytes: a stream gets one per message and keeps it until the next,
   * 0.3-2 s later. Kept as a string, that is one object per stream surviving each young
   * collection of the worker, which then copied 10,000 of them per scavenge (3-11 ms pauses
   * once a second at 30k msg/s, in which no stream is read and the latency of what waits is
   * charged to the server). Bytes overwritten in place survive nothing.
   */
  #id: Buffer | undefined
  #idLength = 0

  constructor(private readonly sink: SseSink) {}

  get lastEventId(): string {
    return this.#id === undefined ? '' : this.#id.toString('latin1', 0, this.#idLength)
  }

  push(chunk: Buffer): void {
    let pos = 0
    if (this.#body === Body.Head) {
      this.#head += chunk.toString('latin1', 0, chunk.length)
      const end = this.#head.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = this.#head
      this.#head = ''
      const headers = head.slice(0, end)
      const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(headers)
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers)
      this.#body = chunked ? Body.ChunkSize : Body.Identity
      this.#identityLeft = !chunked && length !== null ? Number(length[1]) : -1
      this.sink.onHead(Number.parseInt(head.slice(9, 12), 10))
      pos = chunk.length - (head.length - end - 4)
      if (this.#identityLeft === 0) {
        this.#end()
        return
      }
    }
    while (pos < chunk.length) {
      switch (this.#body) {
        case Body.Identity: {
          const end = this.#identityLeft < 0 ? chunk.length : Math.min(chunk.length, pos + this.#identityLeft)
          this.#text(chunk.toString('latin1', pos, end))
          if (this.#identityLeft >= 0) {
            this.#identityLeft -= end - pos
            if (this.#identityLeft === 0) this.#end()
          }
          return
        }
        case Body.ChunkSize: {
          const newline = chunk.indexOf(10, pos)
          if (newline < 0) {
            this.#sizeText += chunk.toString('latin1', pos, chunk.length)
            return
          }
          const size = Number.parseInt(this.#sizeText + chunk.toString('latin1', pos, newline), 16)
          this.#sizeText = ''
          pos = newline + 1
          if (size === 0) {
            this.#end()
            return
          }
          this.#remaining = size
          this.#body = Body.ChunkData
          break
        }
        case Body.ChunkData: {
          const end = Math.min(chunk.length, pos + this.#remaining)
          this.#text(chunk.toString('latin1', pos, end))
          this.#remaining -= end - pos
          pos = end
          if (this.#remaining === 0) {
            this.#body = Body.ChunkEnd
            this.#skip = 2
          }
          break
        }
        case Body.ChunkEnd: {
          const take = Math.min(this.#skip, chunk.length - pos)
          this.#skip -= take
          pos += take
          if (this.#skip === 0) this.#body = Body.ChunkSize
          break
        }
        default:
          return
      }
    }
  }

  #end(): void {
    this.#body = Body.Done
    this.sink.onEnd()
  }

  #text(text: string): void {
    const buffer = this.#pending.length === 0 ? text : this.#pending + text
    let start = 0
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n', start)) {
      const end = newline > start && buffer.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
      this.#line(buffer, start, end)
      start = newline + 1
    }
    this.#pending = start === buffer.length ? '' : buffer.slice(start)
  }

  #setId(id: string): void {
    if (this.#id === undefined || this.#id.length < id.length) this.#id = Buffer.allocUnsafe(Math.max(64, id.length))
    this.#idLength = this.#id.write(id, 0, 'latin1')
  }

  #line(buffer: string, start: number, end: number): void {
    if (start === end) {
      if (this.#hasData) this.sink.onEvent(this.#type === '' ? 'message' : this.#type, this.#data)
      this.#data = ''
      this.#hasData = false
      this.#type = ''
      return
    }
    const first = buffer.charCodeAt(start)
    if (first === 58) {
      this.sink.onComment()
      return
    }
    let colon = buffer.indexOf(':', start)
    if (colon < 0 || colon > end) colon = end
    let valueStart = colon + 1
    if (valueStart < end && buffer.charCodeAt(valueStart) === 32) valueStart++
    const value = valueStart >= end ? '' : buffer.slice(valueStart, end)
    const field = colon - start
    if (first === 100 && field === 4) {
      this.#data = this.#hasData ? `${this.#data}\n${value}` : value
      this.#hasData = true
    } else if (first === 105 && field === 2) {
      this.#setId(value)
    } else if (first === 101 && field === 5) {
      this.#type = value
    } else if (first === 114 && field === 5) {
      const delay = Number.parseInt(value, 10)
      if (Number.isFinite(delay)) this.sink.onRetry(delay)
    }
  }
}
