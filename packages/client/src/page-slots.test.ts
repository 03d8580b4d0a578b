import { describe, expect, it } from 'vitest'
import { releasePageSlot, slotScope, takePageSlot } from './page-slots.js'

describe('page slots', () => {
  it("numbers a page's clients of one URL in the order they are made, and gives a freed slot to the next", () => {
    const [page, otherPage] = [{}, {}]
    const url = 'https://gw.example/v1/events?topics=news'
    expect([takePageSlot(page, url), takePageSlot(page, url), takePageSlot(page, url)]).toEqual([0, 1, 2])
    // Another page, or another URL, counts its own.
    expect(takePageSlot(otherPage, url)).toBe(0)
    expect(takePageSlot(page, 'https://gw.example/v1/events')).toBe(0)
    releasePageSlot(page, url, 1)
    expect(takePageSlot(page, url)).toBe(1)
    expect(takePageSlot(page, url)).toBe(3)
  })

  it("keeps the first slot's position where it was kept before slots, and the others apart", () => {
    expect(slotScope('https://gw.example/v1/events|alice', 0)).toBe('https://gw.example/v1/events|alice')
    expect(slotScope('https://gw.example/v1/events|alice', 2)).toBe('https://gw.example/v1/events|alice#2')
  })
})
