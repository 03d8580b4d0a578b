import { describe, expect, it } from 'vitest'
import { SseResponseReader } from './sse-reader.js'

function readAll(parts: string[]) {
  const seen: { status?: number; events: string[]; retry: number[]; comments: number; ended: number } = {
    events: [],
    retry: [],
    comments: 0,
    ended: 0,
  }
  const reader: SseResponseReader = new SseResponseReader({
    onHead: (status) => {
      seen.status = status
    },
    onEvent: (type, data) => seen.events.push(`${type}|${data}|${reader.lastEventId}`),
    onRetry: (delay) => seen.retry.push(delay),
    onComment: () => {
      seen.comments++
    },
    onEnd: () => {
      seen.ended++
    },
  })
  for (const part of parts) reader.push(Buffer.from(part, 'latin1'))
  return seen
}

const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`

describe('SseResponseReader', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'
  const body = [
    chunk('retry: 100\n\n: hb\n\n'),
    chunk('event: herald.ready\ndata: {}\nid: a\n\n'),
    chunk('data: x\ndata: y\r\nid: b\n\n'),
  ]

  it('reads the head, de-chunks and dispatches events with their ids, and counts comments', () => {
    const seen = readAll([head + body.join('')])
    expect(seen.status).toBe(200)
    expect(seen.retry).toEqual([100])
    expect(seen.events).toEqual(['herald.ready|{}|a', 'message|x\ny|b'])
    expect(seen.comments).toBe(1)
  })

  it('gives the same events when the bytes arrive one at a time', () => {
    const all = head + body.join('')
    expect(readAll([...all]).events).toEqual(readAll([all]).events)
    expect(readAll([...all]).comments).toBe(1)
  })

  it('reads identity (non-chunked) bodies and non-200 heads', () => {
    expect(readAll(['HTTP/1.1 200 OK\r\n\r\ndata: 1\n\n']).events).toEqual(['message|1|'])
    expect(readAll(['HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n']).status).toBe(403)
  })

  it('reports the end of a body on a connection kept alive: the last chunk, or Content-Length reached', () => {
    expect(readAll([head, body[0]!, '0\r\n\r\n']).ended).toBe(1)
    expect(readAll([head, body[0]!]).ended).toBe(0)
    const shed = 'retry: 3000\nevent: herald.unavailable\ndata: {}\n\n'
    const sized = readAll([
      `HTTP/1.1 200 OK\r\nContent-Length: ${shed.length}\r\n\r\n${shed.slice(0, 9)}`,
      shed.slice(9),
    ])
    expect(sized.events).toEqual(['herald.unavailable|{}|'])
    expect(sized.retry).toEqual([3000])
    expect(sized.ended).toBe(1)
  })
  it('keeps the last id whole as ids grow past its buffer and shrink again', () => {
    const long = `u:${'9'.repeat(13)}-0,t:${'7'.repeat(80)}-12`
    const seen = readAll([
      head,
      chunk(`data: 1\nid: short\n\n`),
      chunk(`data: 2\nid: ${long}\n\n`),
      chunk('data: 3\nid: s2\n\n'),
    ])
    expect(seen.events).toEqual(['message|1|short', `message|2|${long}`, 'message|3|s2'])
  })
})
