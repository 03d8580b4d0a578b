import { describe, expect, it } from 'vitest'
import { BellInbox, DEFAULT_MAX_ITEMS, maxItemsOf } from './bell-inbox.js'
import type { BellItem } from './bell-items.js'

const item = (n: number): BellItem => ({
  id: `u00000001:${n}-0`,
  type: 't',
  title: `#${n}`,
  body: '',
  at: n,
  read: false,
})

describe('BellInbox', () => {
  it('keeps the newest max items, newest first', () => {
    const inbox = new BellInbox()
    for (let n = 0; n < 5; n++) inbox.add(item(n), 3)
    expect(inbox.items.map((i) => i.title)).toEqual(['#4', '#3', '#2'])
  })

  it('counts unread notifications beyond the items it keeps, so more than 99 can be unread', () => {
    const inbox = new BellInbox()
    for (let n = 0; n < 120; n++) inbox.add(item(n), 50)
    expect(inbox.items).toHaveLength(50)
    expect(inbox.unread).toBe(120)
  })

  it('clears the count and marks every item read on mark-all-read, then counts again', () => {
    const inbox = new BellInbox()
    for (let n = 0; n < 4; n++) inbox.add(item(n), 2)
    inbox.markAllRead()
    expect(inbox.unread).toBe(0)
    expect(inbox.items.every((i) => i.read)).toBe(true)
    inbox.add(item(9), 2)
    expect(inbox.unread).toBe(1)
  })

  it('forgets every item and the unread count on clear', () => {
    const inbox = new BellInbox()
    for (let n = 0; n < 5; n++) inbox.add(item(n), 3)
    inbox.clear()
    expect(inbox.items).toEqual([])
    expect(inbox.unread).toBe(0)
    inbox.add(item(5), 3)
    expect(inbox.unread).toBe(1)
  })
})

describe('maxItemsOf', () => {
  it('takes a whole number from 1 to 1000, and the default for anything else', () => {
    expect([maxItemsOf('1'), maxItemsOf(' 20 '), maxItemsOf('1000')]).toEqual([1, 20, 1000])
    for (const attribute of [null, '', '-1', '2.5', '0', '1001', 'ten', '1e2', '0x10']) {
      expect(maxItemsOf(attribute), String(attribute)).toBe(DEFAULT_MAX_ITEMS)
    }
  })
})
