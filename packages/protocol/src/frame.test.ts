import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { frameEvent, framePosition, frameRetry, HEARTBEAT_FRAME } from './frame.js'
import { type ParsedEvent, SseParser } from './sse-parser.js'

function parseAll(text: string, chunkSizes: number[] = []): { events: ParsedEvent[]; ids: string[] } {
  const events: ParsedEvent[] = []
  const ids: string[] = []
  const parser = new SseParser({ onEvent: (e) => events.push(e), onId: (id) => ids.push(id) })
  let offset = 0
  for (const size of chunkSizes) {
    parser.push(text.slice(offset, offset + size))
    offset += size
  }
  parser.push(text.slice(offset))
  return { events, ids }
}

describe('SSE framing', () => {
  it('frames a typed JSON event that a spec parser reads back', () => {
    const { events } = parseAll(frameEvent('invoice.paid', '{"amount":5}', 'u00000000:1-0'))
    expect(events).toEqual([{ type: 'invoice.paid', data: '{"amount":5}', lastEventId: 'u00000000:1-0' }])
  })

  it('leaves out the event field when there is no type', () => {
    expect(frameEvent(undefined, '1', 't')).toBe('data: 1\nid: t\n\n')
  })

  it('cannot be made to start a new field or event by CR, LF or CRLF in the data', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', ' ', ':', 'data: x', 'event: evil', 'id: 9', '\n', '\r', '\r\n', '\n\n'), {
          maxLength: 30,
        }),
        fc.array(fc.nat({ max: 20 }), { maxLength: 5 }),
        (pieces, chunks) => {
          const data = pieces.join('')
          const { events } = parseAll(frameEvent('t', data, 'u00000000:1-0'), chunks)
          expect(events).toHaveLength(1)
          expect(events[0]?.type).toBe('t')
          expect(events[0]?.lastEventId).toBe('u00000000:1-0')
          // The parser joins data lines with LF: every line break comes back as LF, nothing more.
          expect(events[0]?.data).toBe(data.replace(/\r\n|\r/g, '\n'))
        },
      ),
    )
  })

  it('never writes an event type that contains a line break as a field', () => {
    for (const type of ['a\nevent: evil', 'a\rid: 1', 'a\r\n\r\ndata: evil']) {
      const { events } = parseAll(frameEvent(type, '"ok"', 'u00000000:1-0'))
      expect(events).toEqual([{ type: 'message', data: '"ok"', lastEventId: 'u00000000:1-0' }])
    }
  })

  it('round-trips any JSON value through framing and parsing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.nat({ max: 7 }), { maxLength: 8 }), (value, chunks) => {
        const data = JSON.stringify(value)
        const { events } = parseAll(frameEvent(undefined, data, 'x'), chunks)
        expect(events).toHaveLength(1)
        expect(JSON.parse(events[0]!.data)).toEqual(JSON.parse(data))
      }),
    )
  })

  it('sets the position with an id-only frame, dispatching nothing', () => {
    const { events, ids } = parseAll(`${frameRetry(1500)}${framePosition('u00000000:5-0')}${HEARTBEAT_FRAME}`)
    expect(events).toEqual([])
    expect(ids).toEqual(['u00000000:5-0'])
  })
})

describe('SSE parser', () => {
  it('handles CRLF split across chunks, BOM, comments and retry', () => {
    const retries: number[] = []
    const comments: string[] = []
    const events: ParsedEvent[] = []
    const parser = new SseParser({
      onEvent: (e) => events.push(e),
      onRetry: (ms) => retries.push(ms),
      onComment: (c) => comments.push(c),
    })
    for (const chunk of ['\ufeffretry: 10\r', '\n: hi\r\nda', 'ta: a\r', '\ndata: b\r', '\n\r', '\n'])
      parser.push(chunk)
    expect(retries).toEqual([10])
    expect(comments).toEqual(['hi'])
    expect(events).toEqual([{ type: 'message', data: 'a\nb', lastEventId: '' }])
  })

  it('looks at each character once, however many chunks a long line comes in: a rescan per chunk was O(n²)', () => {
    const text = `data: ${'x'.repeat(50_000)}\r\n\n`
    const events: ParsedEvent[] = []
    const parser = new SseParser({ onEvent: (e) => events.push(e) })
    const charCodeAt = vi.spyOn(String.prototype, 'charCodeAt')
    let looks: number
    try {
      for (let at = 0; at < text.length; at += 500) parser.push(text.slice(at, at + 500))
    } finally {
      looks = charCodeAt.mock.calls.length
      charCodeAt.mockRestore()
    }
    expect(events.map((e) => e.data.length)).toEqual([50_000])
    expect(looks).toBeLessThan(text.length * 1.1)
  })

  it('reads the same events whatever the chunking, line ends split across chunks included', () => {
    const text = `\ufeff: c\r\nevent: a\rdata: 1\r\ndata: 2\n\nid: 7\r\rdata: ${'y'.repeat(300)}\n\n`
    const whole = parseAll(text)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }), (chunks) => {
        expect(parseAll(text, chunks)).toEqual(whole)
      }),
    )
    expect(whole.events.map((e) => [e.type, e.data.length, e.lastEventId])).toEqual([
      ['a', 3, ''],
      ['message', 300, '7'],
    ])
  })

  it('ignores ids containing NUL and non-numeric retry', () => {
    const retries: number[] = []
    const parser = new SseParser({ onEvent: () => {}, onRetry: (ms) => retries.push(ms) })
    parser.push('id: a\0b\nretry: 1x\n\n')
    expect(parser.lastEventId).toBe('')
    expect(retries).toEqual([])
  })
})
