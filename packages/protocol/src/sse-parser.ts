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
  /** The pieces of a line whose end has not come yet, joined once it does. */
  readonly #pending: string[] = []
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
    // Only the new text is scanned: what is pending holds no line end. Scanning the pending
    // text again with each chunk cost O(n²) for a long line arriving in many reads (a 4 MiB
    // line in 1400-byte reads took 48 s, on the page's main thread).
    let start = 0
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i)
      if (code !== 10 && code !== 13) continue
      if (this.#pending.length === 0) {
        this.#line(text.slice(start, i))
      } else {
        this.#pending.push(text.slice(start, i))
        this.#line(this.#pending.join(''))
        this.#pending.length = 0
      }
      if (code === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++
        } else {
          this.#skipLeadingLf = true
        }
      }
      start = i + 1
    }
    if (start < text.length) this.#pending.push(start === 0 ? text : text.slice(start))
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
