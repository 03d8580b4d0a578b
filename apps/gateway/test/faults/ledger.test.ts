import { describe, expect, it } from 'vitest'
import type { ReceivedEvent } from '../harness.js'
import { clientFigures, DeliveryLedger } from './ledger.js'

const message = (n: number): ReceivedEvent => ({ type: 'message', data: String(n), lastEventId: '' })
const reset: ReceivedEvent = { type: 'herald.reset', data: '{"reason":"trimmed"}', lastEventId: '' }
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('clientFigures', () => {
  it('counts an exact delivery as nothing lost, duplicated or reordered', () => {
    expect(clientFigures('a', range(0, 5), range(0, 5).map(message))).toMatchObject({
      received: 5,
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      resets: 0,
    })
  })

  it('counts a silent gap as lost, and repeats as duplicates', () => {
    const figures = clientFigures('a', range(0, 6), [0, 1, 1, 4, 5, 4].map(message))
    expect(figures).toMatchObject({ received: 6, lost: 2, lostIds: [2, 3], duplicated: 2, outOfOrder: 1 })
    expect(figures.duplicatedIds).toEqual([1, 4])
  })

  it('counts a gap a herald.reset announced as skipped, not lost', () => {
    const figures = clientFigures('a', range(0, 10), [message(0), message(1), reset, message(8), message(9)])
    expect(figures).toMatchObject({ lost: 0, resets: 1, skippedAfterReset: 6 })
    // A reset covers only the gap it sits in.
    const silent = clientFigures('a', range(0, 10), [message(0), reset, message(5), message(9)])
    expect(silent).toMatchObject({ lost: 3, lostIds: [6, 7, 8], skippedAfterReset: 4 })
  })

  it('lets a trailing reset announce everything after it', () => {
    expect(clientFigures('a', range(0, 4), [message(0), reset])).toMatchObject({ lost: 0, skippedAfterReset: 3 })
  })
})

describe('DeliveryLedger', () => {
  it('sums every client over all of its connections', () => {
    const ledger = new DeliveryLedger('demo')
    for (const n of range(0, 4)) ledger.published(n)
    ledger.retried(2)
    ledger.track('a', { events: [0, 1].map(message) }, { events: [2, 3].map(message) })
    ledger.track('b', { events: [0, 1, 2, 2].map(message) })
    expect(ledger.figures()).toMatchObject({
      scenario: 'demo',
      clients: 2,
      published: 4,
      expected: 8,
      received: 8,
      lost: 1,
      duplicated: 1,
      retried: 1,
    })
  })
})
