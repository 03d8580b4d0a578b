import { parseStreamId, type StreamId } from '@herald/protocol'
import { describe, expect, it } from 'vitest'
import { ChannelHistory } from './channel-history.js'

const id = (text: string): StreamId => parseStreamId(text)!

describe('ChannelHistory', () => {
  it('issues its first id above the tail it reported before existing', () => {
    const history = new ChannelHistory(1000, 60_000)
    expect(history.tail()).toBe('1000-0')
    expect(history.append(undefined, '1', 1000, 10).id).toBe('1000-1')
    expect(history.append(undefined, '2', 999, 10).id).toBe('1000-2')
    expect(history.append(undefined, '3', 1005, 10).id).toBe('1005-0')
  })

  it('reads strictly after a position, in pages', () => {
    const history = new ChannelHistory(1, 60_000)
    const ids = Array.from({ length: 5 }, (_, i) => history.append(undefined, String(i), 10 + i, 10).id)
    const first = history.readAfter(id(ids[0]!), 2)
    expect(first).toEqual({
      outcome: 'entries',
      entries: [expect.objectContaining({ id: ids[1] }), expect.objectContaining({ id: ids[2] })],
    })
    expect(history.readAfter(id(ids[4]!), 2)).toEqual({ outcome: 'entries', entries: [] })
  })

  it('reports trimmed once anything after the position was deleted', () => {
    const history = new ChannelHistory(1, 60_000)
    const ids = Array.from({ length: 30 }, (_, i) => history.append(undefined, String(i), 10 + i, 8).id)
    expect(history.length).toBeLessThanOrEqual(9)
    expect(history.readAfter(id(ids[0]!), 100)).toEqual({ outcome: 'trimmed' })
    const kept = history.readAfter(id(ids[25]!), 100)
    expect(kept.outcome === 'entries' && kept.entries.map((e) => e.id)).toEqual(ids.slice(26))
  })

  it('reports positions ahead of the channel as unknown', () => {
    const history = new ChannelHistory(1, 60_000)
    history.append(undefined, 'x', 5, 10)
    expect(history.readAfter(id('6-0'), 10)).toEqual({ outcome: 'unknown' })
  })

  it('treats positions older than the idle TTL as trimmed in a recreated channel', () => {
    const history = new ChannelHistory(100_000, 60_000)
    expect(history.readAfter(id('39999-5'), 10)).toEqual({ outcome: 'trimmed' })
    expect(history.readAfter(id('40000-0'), 10)).toEqual({ outcome: 'entries', entries: [] })
  })

  it('treats positions from before its history began as trimmed, even inside the idle TTL', () => {
    const history = new ChannelHistory(100_000, 60_000, 90_000)
    expect(history.readAfter(id('89999-7'), 10)).toEqual({ outcome: 'trimmed' })
    expect(history.readAfter(id('90000-0'), 10)).toEqual({ outcome: 'entries', entries: [] })
  })
})
