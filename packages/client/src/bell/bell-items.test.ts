import { describe, expect, it } from 'vitest'
import { announcement, timeAgo, toBellItem } from './bell-items.js'

describe('toBellItem', () => {
  it('reads title, body and sentAt from the payload', () => {
    const item = toBellItem({ type: 'invoice.paid', id: 'u1:1-0', data: { title: 'Paid', body: '#42', sentAt: 5 } }, 9)
    expect(item).toEqual({ id: 'u1:1-0', type: 'invoice.paid', title: 'Paid', body: '#42', at: 5, read: false })
  })

  it('takes the receive time for a sentAt no Date can hold, so rendering the bell cannot throw', () => {
    for (const sentAt of [1e300, -1e300, 8.64e15 + 1, '5']) {
      const item = toBellItem({ type: 't', id: 'x', data: { title: 'evil', sentAt } }, 9)
      expect(item.at, String(sentAt)).toBe(9)
      expect(() => new Date(item.at).toISOString()).not.toThrow()
    }
    expect(toBellItem({ type: 't', id: 'x', data: { sentAt: -8.64e15 } }, 9).at).toBe(-8.64e15)
  })

  it('falls back to the type and the payload text', () => {
    expect(toBellItem({ type: 'ping', id: 'x', data: { n: 1 } }, 9)).toMatchObject({
      title: 'ping',
      body: '{"n":1}',
      at: 9,
    })
    expect(toBellItem({ type: 'message', id: 'x', data: 'hello' }, 9)).toMatchObject({
      title: 'message',
      body: 'hello',
    })
  })
})

describe('announcement', () => {
  it('names a lone notification, and counts a burst, naming its latest', () => {
    expect(announcement(1, 'Invoice paid')).toBe('New notification: Invoice paid')
    expect(announcement(3, 'Invoice paid')).toBe('3 new notifications, the latest: Invoice paid')
  })
})

describe('timeAgo', () => {
  it('speaks in the largest whole unit', () => {
    expect(timeAgo(0, 5_000)).toBe('just now')
    expect(timeAgo(0, 42_000)).toBe('42 s ago')
    expect(timeAgo(0, 5 * 60_000)).toBe('5 min ago')
    expect(timeAgo(0, 3 * 3_600_000)).toBe('3 h ago')
  })
})
