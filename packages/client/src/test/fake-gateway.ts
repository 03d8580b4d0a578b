/**
 * A `fetch` for client tests that answers /v1/events like the gateway: each
 * request gets a 200 event stream that stays open, and goes live at once
 * (`retry:` and `herald.ready`). Requests are recorded, headers included, so
 * a test can see which token and position each stream was opened with.
 */

export interface FakeStream {
  readonly authorization: string | null
  readonly lastEventId: string | null
}

export function fakeGateway(): { fetch: typeof fetch; streams: FakeStream[] } {
  const streams: FakeStream[] = []
  const encoder = new TextEncoder()
  const fakeFetch = async (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers)
    streams.push({ authorization: headers.get('authorization'), lastEventId: headers.get('last-event-id') })
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(
          encoder.encode(
            'retry: 100\n\nevent: herald.ready\ndata: {"resume":"fresh","replayed":0}\nid: u00000001:1-0\n\n',
          ),
        )
        init?.signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')))
      },
    })
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })
  }
  return { fetch: fakeFetch as typeof fetch, streams }
}

export interface ControlledStream extends FakeStream {
  /** Sends SSE text on this stream. */
  push(text: string): void
  /** Ends the stream, as a server that closes it does. */
  end(): void
  readonly aborted: boolean
}

/**
 * A `fetch` whose streams send only what the test pushes: for following, frame by frame,
 * which stream a client opens from which position, and what it does with each event.
 */
export function controlledGateway(): { fetch: typeof fetch; streams: ControlledStream[] } {
  const streams: ControlledStream[] = []
  const encoder = new TextEncoder()
  const controlledFetch = async (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers)
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined
    let aborted = false
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c
        init?.signal?.addEventListener('abort', () => {
          aborted = true
          c.error(new DOMException('aborted', 'AbortError'))
        })
      },
    })
    streams.push({
      authorization: headers.get('authorization'),
      lastEventId: headers.get('last-event-id'),
      push: (text) => controller?.enqueue(encoder.encode(text)),
      end: () => controller?.close(),
      get aborted() {
        return aborted
      },
    })
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })
  }
  return { fetch: controlledFetch as typeof fetch, streams }
}
