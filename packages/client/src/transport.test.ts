import type { ParsedEvent } from '@herald/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { eventSourceTransport, type StreamHandle, type StreamSink } from './transport.js'

/** Just enough of EventSource to dispatch events the way a browser does. */
class FakeEventSource extends EventTarget {
  static last: FakeEventSource | undefined
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSED = 2
  readyState = 0
  constructor(readonly url: URL) {
    super()
    FakeEventSource.last = this
  }
  close(): void {
    this.readyState = this.CLOSED
  }
  /** EventSource's own `open`/`error`: plain Events. */
  own(type: 'open' | 'error'): void {
    if (type === 'open') this.readyState = this.OPEN
    this.dispatchEvent(new Event(type))
  }
  /** A server event: a MessageEvent with the `event:` field as its type. */
  server(type: string, data: string, lastEventId: string): void {
    this.dispatchEvent(new MessageEvent(type, { data, lastEventId }))
  }
}

describe('eventSourceTransport', () => {
  let events: ParsedEvent[]
  let opens: number
  const sink: StreamSink = { onOpen: () => opens++, onEvent: (event) => events.push(event), onRetry: () => {} }
  const start = (types: string[]): { handle: StreamHandle; source: FakeEventSource; controller: AbortController } => {
    const controller = new AbortController()
    const handle = eventSourceTransport(
      { url: 'http://gateway.test/v1/events', token: 't', lastEventId: '', signal: controller.signal, types },
      sink,
    )
    return { handle, source: FakeEventSource.last!, controller }
  }
  const settled = async (handle: StreamHandle) =>
    Promise.race([handle.done, new Promise((resolve) => setTimeout(() => resolve('pending'), 10))])

  beforeEach(() => {
    events = []
    opens = 0
    vi.stubGlobal('EventSource', FakeEventSource)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('keeps the stream when the server sends events named error or open, which it drops unless listened for', async () => {
    const { handle, source } = start(['seq'])
    source.own('open')
    source.server('seq', '0', 'u1:1-0')
    source.server('error', '{"boom":1}', 'u1:2-0')
    source.server('open', '{"boom":2}', 'u1:3-0')
    source.server('seq', '1', 'u1:4-0')
    expect(await settled(handle)).toBe('pending')
    expect(opens).toBe(1)
    expect(events.map((e) => e.data)).toEqual(['0', '1'])
  })

  it('delivers server events named error or open to a listener for them, and never its own events', async () => {
    const { handle, source } = start(['seq', 'error', 'open'])
    source.own('open')
    source.server('error', '{"boom":1}', 'u1:2-0')
    source.server('open', '{"boom":2}', 'u1:3-0')
    expect(await settled(handle)).toBe('pending')
    expect(opens).toBe(1)
    expect(events).toEqual([
      { type: 'error', data: '{"boom":1}', lastEventId: 'u1:2-0' },
      { type: 'open', data: '{"boom":2}', lastEventId: 'u1:3-0' },
    ])
    // A connection error still ends the stream, and is no notification.
    source.own('error')
    expect(await handle.done).toEqual({ kind: 'ended' })
    expect(events).toHaveLength(2)
  })

  it('still ends on a connection error after the stream opened', async () => {
    const { handle, source } = start(['seq'])
    source.own('open')
    source.own('error')
    expect(await handle.done).toEqual({ kind: 'ended' })
    expect(source.readyState).toBe(source.CLOSED)
  })
})
