import { afterEach, describe, expect, it, vi } from 'vitest'
import { fetchTransport, isEventStream, retryAfter, type StreamEnd, type StreamSink } from './transport.js'

const sink: StreamSink = { onOpen() {}, onActivity() {}, onEvent() {}, onRetry() {} }

/** What the fetch transport makes of one answer from the gateway (or a proxy in front of it). */
async function endFor(response: Response, streamSink: StreamSink = sink): Promise<StreamEnd> {
  vi.stubGlobal('fetch', async () => response)
  const attempt = {
    url: 'https://gw.example/v1/events',
    token: 't',
    lastEventId: '',
    signal: new AbortController().signal,
    types: [],
  }
  return fetchTransport(attempt, streamSink).done
}

const json = (status: number, headers: Record<string, string> = {}) =>
  new Response('{"error":{"code":"X","message":"m"}}', {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })

describe('fetchTransport', () => {
  afterEach(() => vi.unstubAllGlobals())

  it("retries what says 'not now' (408, 425, 429, 5xx), with the wait Retry-After asks for", async () => {
    expect(await endFor(json(429, { 'Retry-After': '3' }))).toEqual({ kind: 'failed', retryAfterMs: 3000 })
    expect(await endFor(json(408))).toEqual({ kind: 'failed' })
    expect(await endFor(json(425))).toEqual({ kind: 'failed' })
    expect(await endFor(json(503, { 'Retry-After': '7' }))).toEqual({ kind: 'failed', retryAfterMs: 7000 })
  })

  it('retries a 200 that is not an event stream (a proxy login page), without reading it as one', async () => {
    let opened = false
    const page = new Response('<html>data: not an event</html>', {
      status: 200,
      headers: { 'content-type': 'text/html' },
    })
    const end = await endFor(page, { ...sink, onOpen: () => (opened = true) })
    expect(end).toEqual({ kind: 'failed' })
    expect(opened).toBe(false)
    expect(page.bodyUsed).toBe(true)
  })

  it('stops on a refusal retrying cannot fix, with the gateway code, and reads 401 as one for a new token', async () => {
    for (const status of [400, 401, 403, 404])
      expect(await endFor(json(status))).toEqual({ kind: 'refused', status, code: 'X', message: 'm' })
  })

  it('reads a refusal cut off mid-body (the stream reopened) as aborted, not as a refusal without its code', async () => {
    const controller = new AbortController()
    const body = new ReadableStream<Uint8Array>({
      start(stream) {
        stream.enqueue(new TextEncoder().encode('{"error":{"code":"HERALD_ERR_TOPIC_FORBIDDEN",'))
        controller.signal.addEventListener('abort', () => stream.error(new DOMException('aborted', 'AbortError')))
      },
    })
    vi.stubGlobal('fetch', async () => {
      queueMicrotask(() => controller.abort())
      return new Response(body, { status: 403, headers: { 'content-type': 'application/json' } })
    })
    const attempt = {
      url: 'https://gw.example/v1/events',
      token: 't',
      lastEventId: '',
      signal: controller.signal,
      types: [],
    }
    expect(await fetchTransport(attempt, sink).done).toEqual({ kind: 'aborted' })
  })

  it('stops on a 204, the answer that tells an event-stream client to stop reconnecting', async () => {
    const stop = new Response(null, { status: 204, statusText: 'No Content' })
    expect(await endFor(stop)).toEqual({ kind: 'refused', status: 204, code: 'HTTP_204', message: 'No Content' })
    // Another 2xx that is no stream says nothing of the kind: it is retried, as a 200 of HTML is.
    expect(await endFor(new Response(null, { status: 202 }))).toEqual({ kind: 'failed' })
  })
})

describe('isEventStream', () => {
  it('takes text/event-stream with or without parameters, in any case, and nothing else', () => {
    const answers: [string | null, boolean][] = [
      ['text/event-stream', true],
      ['Text/Event-Stream; charset=utf-8', true],
      ['text/html', false],
      ['text/event-streamx', false],
      [null, false],
      // Repeated by a proxy, joined by fetch: the last value counts.
      ['text/event-stream, text/event-stream', true],
      ['text/html, text/event-stream;charset=utf-8', true],
      ['text/event-stream, text/html', false],
    ]
    for (const [contentType, isStream] of answers)
      expect(isEventStream(contentType), String(contentType)).toBe(isStream)
  })
})

describe('retryAfter', () => {
  it('reads seconds or an HTTP date, and nothing else', () => {
    const now = Date.parse('2026-12-04T12:00:00Z')
    expect(retryAfter(' 120 ', now)).toBe(120_000)
    expect(retryAfter('Fri, 04 Dec 2026 12:00:05 GMT', now)).toBe(5000)
    expect(retryAfter('Fri, 04 Dec 2026 11:00:00 GMT', now)).toBe(0)
    expect(retryAfter('soon', now)).toBeUndefined()
    expect(retryAfter(null, now)).toBeUndefined()
  })
})
