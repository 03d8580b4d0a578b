/**
 * A streaming parser for `text/event-stream`, following the WHATWG HTML
 * "event stream interpretation" rules: CR, LF and CRLF line ends (also when
 * split across chunks), comments, `retry`, and the last-event-id buffer that
 * is kept even when an event has no data. Used by the fetch-based client, the
 * load generator and the tests, so all of them read frames the way a browser does.
 */

export interface ParsedEvent {
  /** `message` when the stream gave no `event:` field. */
  readonly type: string
  readonly data: string
  /** The last event id in force when the event was dispatched. */
  readonly lastEventId: string
}

export interface SseParserHandlers {
  onEvent(event: ParsedEvent): void
  onRetry?(delayMs: number): void
  onComment?(text: string): void
  /** Called whenever an `id:` field changes the last event id, even with no event. */
  onId?(id: string): void
}

export class SseParser {
  #pending = ''
  #firstChunk = true
  #skipLeadingLf = false
  #data = ''
  #hasData = false
  #type = ''
  #lastEventId = ''

  constructor(private readonly handlers: SseParserHandlers) {}

  get lastEventId(): string {
    return this.#lastEventId
  }

  push(chunk: string): void {
    let text = chunk
    if (this.#firstChunk && text.length > 0) {
      this.#firstChunk = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (this.#skipLeadingLf && text.length > 0) {
      this.#skipLeadingLf = false
      if (text.charCodeAt(0) === 10) text = text.slice(1)
    }
    let buffer = this.#pending + text
    let start = 0
    for (let i = 0; i < buffer.length; i++) {
      const code = buffer.charCodeAt(i)
      if (code !== 10 && code !== 13) continue
      this.#line(buffer.slice(start, i))
      if (code === 13) {
        if (i + 1 < buffer.length) {
          if (buffer.charCodeAt(i + 1) === 10) i++
        } else {
          this.#skipLeadingLf = true
        }
      }
      start = i + 1
    }
    buffer = buffer.slice(start)
    this.#pending = buffer
  }

  #line(line: string): void {
    if (line.length === 0) {
      this.#dispatch()
      return
    }
    if (line.charCodeAt(0) === 58) {
      this.handlers.onComment?.(line.slice(1).replace(/^ /, ''))
      return
    }
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    switch (field) {
      case 'data':
        this.#data = this.#hasData ? `${this.#data}\n${value}` : value
        this.#hasData = true
        break
      case 'event':
        this.#type = value
        break
      case 'id':
        if (value.indexOf('\0') < 0) {
          this.#lastEventId = value
          this.handlers.onId?.(value)
        }
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value))
        break
    }
  }

  #dispatch(): void {
    const hasData = this.#hasData
    const data = this.#data
    const type = this.#type
    this.#data = ''
    this.#hasData = false
    this.#type = ''
    if (!hasData) return
    this.handlers.onEvent({
      type: type === '' ? 'message' : type,
      data,
      lastEventId: this.#lastEventId,
    })
  }
}
