/**
 * One attempt at a stream, over one of two transports, with the same
 * outcome type so the reconnect loop does not care which is in use.
 *
 * - `fetch`: the token goes in an `Authorization` header (never in a URL,
 *   so never in proxy logs or history), `Last-Event-ID` as a header, and the
 *   body is read with @herald/protocol's parser. Refusals are told apart by
 *   status and error code.
 * - `eventsource`: for browsers without streaming fetch. The token has to go
 *   in `access_token` and the position in `lastEventId`, and a refusal is
 *   only an `error`, without its status: so an attempt the gateway answered
 *   with another status asks once more with a plain request, and reads the
 *   refusal from its answer (a 401 then gets a new token, a 403 stops the
 *   client). EventSource dispatches only the types listened for, and dispatches a
 *   server event named `error` or `open` to the same listeners as its own: those
 *   are told apart (the server's is a MessageEvent, with data), so such an event,
 *   which publishers may no longer send but an older one might have, is a
 *   notification like any other type, as it is over fetch.
 */

import { type ParsedEvent, SseParser } from '@herald/protocol'

export interface StreamAttempt {
  readonly url: string
  readonly token: string
  readonly lastEventId: string
  readonly signal: AbortSignal
  /** Event types to listen for; only EventSource needs them. */
  readonly types: Iterable<string>
}

export interface StreamSink {
  onOpen(): void
  /** Bytes arrived: an event, a heartbeat comment, anything. Called per chunk, so it must be cheap. */
  onActivity(): void
  onEvent(event: ParsedEvent): void
  onRetry(delayMs: number): void
}

export type StreamEnd =
  /** The stream was open and ended: the server closed it (token expiry, shutdown) or the network dropped. */
  | { readonly kind: 'ended' }
  /**
   * No stream: the request failed, the server could not be reached, or it answered "not now"
   * (a 5xx, or 408, 425 or 429), with the wait its `Retry-After` asked for, if any.
   */
  | { readonly kind: 'failed'; readonly retryAfterMs?: number }
  /** The gateway refused the request with a 4xx that retrying cannot fix (401 gets a new token), or asked to stop with a 204. */
  | { readonly kind: 'refused'; readonly status: number; readonly code: string; readonly message: string }
  | { readonly kind: 'aborted' }

export interface StreamHandle {
  readonly done: Promise<StreamEnd>
  /**
   * Whether the transport sees the gateway's heartbeat comments. EventSource hides them, so over
   * it a quiet stream cannot be told from a dead one, and no silence watchdog runs.
   */
  readonly seesHeartbeats: boolean
  /** Starts listening for another event type on a stream that is already open. */
  listen(type: string): void
}

export type Transport = (attempt: StreamAttempt, sink: StreamSink) => StreamHandle
export type TransportName = 'fetch' | 'eventsource'

/** Whether this browser can read a fetch response body as a stream. */
export function canStreamFetch(): boolean {
  return (
    typeof fetch === 'function' &&
    typeof ReadableStream === 'function' &&
    typeof TextDecoderStream === 'function' &&
    typeof Response === 'function' &&
    'body' in Response.prototype
  )
}

export const fetchTransport: Transport = (attempt, sink) => ({
  done: streamWithFetch(attempt, sink),
  seesHeartbeats: true,
  listen() {},
})

async function streamWithFetch(attempt: StreamAttempt, sink: StreamSink): Promise<StreamEnd> {
  const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${attempt.token}` }
  if (attempt.lastEventId !== '') headers['Last-Event-ID'] = attempt.lastEventId
  let response: Response
  try {
    response = await fetch(attempt.url, { headers, signal: attempt.signal, cache: 'no-store' })
  } catch {
    return attempt.signal.aborted ? { kind: 'aborted' } : { kind: 'failed' }
  }
  if (isRefusal(response.status)) return refusal(response, attempt.signal)
  // As EventSource does, only a 200 of text/event-stream is a stream: a proxy's login page or an
  // app's fallback index.html, read as one, would hold the attempt open on bytes that are no events.
  if (response.status !== 200 || response.body === null || !isEventStream(response.headers.get('content-type'))) {
    await response.body?.cancel().catch(() => {})
    return failedAnswer(response)
  }
  sink.onOpen()
  const parser = new SseParser({ onEvent: (event) => sink.onEvent(event), onRetry: (ms) => sink.onRetry(ms) })
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { kind: 'ended' }
      sink.onActivity()
      parser.push(value)
    }
  } catch {
    return attempt.signal.aborted ? { kind: 'aborted' } : { kind: 'ended' }
  }
}

/**
 * Whether a Content-Type names an event stream (its parameters, such as a charset, aside). A
 * header a proxy repeated reaches fetch joined with commas, and the last value counts, as
 * fetch's own MIME type extraction takes it (EventSource opens such an answer).
 */
export function isEventStream(contentType: string | null): boolean {
  const last = contentType?.split(',').at(-1)
  return last !== undefined && last.split(';', 1)[0]?.trim().toLowerCase() === 'text/event-stream'
}

/**
 * 4xx answers that mean "not now" rather than "never": a rate-limiting proxy's 429, a load
 * balancer's 408. Retried after a backoff like a failure, not the end of every tab's stream.
 */
const NOT_NOW = new Set([408, 425, 429])

/**
 * A 204 is how a server tells an event-stream client to stop reconnecting (it was the SSE
 * specification's own signal): retried, it would be asked again after every backoff, for good.
 */
const STOP_RECONNECTING = 204

function isRefusal(status: number): boolean {
  return status === STOP_RECONNECTING || (status >= 400 && status < 500 && !NOT_NOW.has(status))
}

/** A failed answer, with the wait its `Retry-After` asks for (seconds, or an HTTP date), if it names one. */
function failedAnswer(response: Response): StreamEnd {
  const retryAfterMs = retryAfter(response.headers.get('retry-after'), Date.now())
  return retryAfterMs === undefined ? { kind: 'failed' } : { kind: 'failed', retryAfterMs }
}

export function retryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined
}

async function refusal(response: Response, signal: AbortSignal): Promise<StreamEnd> {
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code?: unknown; message?: unknown } }
    | undefined
  // Cut off mid-body, it would stop the client without the gateway's code: the next attempt reads it whole.
  if (signal.aborted) return { kind: 'aborted' }
  const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${response.status}`
  const message = typeof body?.error?.message === 'string' ? body.error.message : response.statusText
  return { kind: 'refused', status: response.status, code, message }
}

export const eventSourceTransport: Transport = (attempt, sink) => {
  const url = new URL(attempt.url, globalThis.location?.href)
  url.searchParams.set('access_token', attempt.token)
  if (attempt.lastEventId !== '') url.searchParams.set('lastEventId', attempt.lastEventId)
  const source = new EventSource(url)
  const listening = new Set<string>()
  let opened = false
  let finish: (end: StreamEnd) => void = () => {}
  const done = new Promise<StreamEnd>((resolve) => {
    finish = (end) => {
      source.close()
      attempt.signal.removeEventListener('abort', onAbort)
      resolve(end)
    }
  })
  const onAbort = () => finish({ kind: 'aborted' })
  attempt.signal.addEventListener('abort', onAbort)
  source.addEventListener('open', (event) => {
    if (isServerEvent(event)) return
    opened = true
    sink.onOpen()
  })
  // EventSource would reconnect by itself, but not with a fresh token or our backoff.
  source.addEventListener('error', (event) => {
    if (isServerEvent(event)) return
    if (opened) return finish({ kind: 'ended' })
    // CLOSED means the gateway answered, with a status other than 200; a network failure leaves
    // EventSource CONNECTING. Only an answer is worth asking about: asking a gateway that just
    // came back would open (and count) a stream of its own.
    const answered = source.readyState === source.CLOSED
    source.close()
    if (!answered) return finish({ kind: 'failed' })
    void whyNotOpened(url, attempt.signal).then(finish)
  })
  const listen = (type: string) => {
    if (listening.has(type)) return
    listening.add(type)
    source.addEventListener(type, (event) => {
      // For `error` and `open`, EventSource's own events come here too.
      if (!isServerEvent(event)) return
      sink.onActivity()
      sink.onEvent({ type, data: event.data, lastEventId: event.lastEventId })
    })
  }
  for (const type of attempt.types) listen(type)
  if (attempt.signal.aborted) onAbort()
  return { done, seesHeartbeats: false, listen }
}

/**
 * Whether an EventSource event came from the stream: the server's events are MessageEvents,
 * EventSource's own `open` and `error` are plain Events. Checked by shape rather than class, so
 * an EventSource polyfill whose events are not the global MessageEvent's still passes.
 */
function isServerEvent(event: Event): event is MessageEvent<string> {
  return 'data' in event && typeof event.data === 'string'
}

/**
 * EventSource reports a refused stream as a bare `error`. The same request as a plain fetch
 * shows the status and the gateway's error: a refusal for the reconnect loop to act on, or a
 * failure to back off from (a stream it opens instead is cancelled at once).
 */
async function whyNotOpened(url: URL, signal: AbortSignal): Promise<StreamEnd> {
  if (typeof fetch !== 'function') return { kind: 'failed' }
  try {
    const response = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal, cache: 'no-store' })
    if (isRefusal(response.status)) return await refusal(response, signal)
    await response.body?.cancel().catch(() => {})
    return failedAnswer(response)
  } catch {
    return signal.aborted ? { kind: 'aborted' } : { kind: 'failed' }
  }
}
