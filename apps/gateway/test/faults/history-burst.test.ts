/**
 * A publisher burst while a tab is away: longer than the history (HISTORY_MAX_LEN,
 * 1000 by default), the tab gets `herald.reset` right where the gap is, never a
 * silent loss; shorter, it resumes exactly. Every published message is counted.
 */

import { startRedis } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import type { RecordingEventSource } from '../harness.js'
import { useFleet } from '../redis-nodes.js'
import { atScale, SCENARIO_TIMEOUT_MS } from './scale.js'
import { DeliveryLedger, record, waitForMessage } from './scenario.js'

const HISTORY = 1000

describe('a publisher burst while a tab is away', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  const fleet = useFleet(startRedis, 2)

  it('resumes exactly after a burst the history holds, and announces herald.reset after one it does not', async () => {
    const ledger = new DeliveryLedger('burst past the history while away')
    // History is trimmed approximately (like MAXLEN ~), so bursts stay clear of the limit either way.
    const bursts = atScale([1300, 900], [1300, 900, 5000, 899, 2500, 500, 1500])
    let next = 0
    const publish = async (count: number) => {
      const numbers = Array.from({ length: count }, () => next++)
      await fleet.publisher.publishBatch(numbers.map((n) => ({ target: { user: 'burst' }, data: n })))
      for (const n of numbers) ledger.published(n)
    }
    let tab: RecordingEventSource = await fleet.tab(fleet.nodes[0]!, 'burst')
    ledger.track('tab', tab)
    await tab.waitForReady()
    await publish(1)
    await waitForMessage(tab, next - 1)
    for (const [round, burst] of bursts.entries()) {
      tab.close()
      const lastEventId = tab.events.at(-1)!.lastEventId
      await publish(burst)
      tab = await fleet.tab(fleet.nodes[(round + 1) % 2]!, 'burst', { lastEventId })
      ledger.track('tab', tab)
      await tab.waitForReady()
      await publish(1)
      await waitForMessage(tab, next - 1)
      const resets = tab.events.filter((event) => event.type === 'herald.reset')
      if (burst > HISTORY) {
        // The reset comes first, and the tab goes on live from there.
        expect(tab.events[0]).toMatchObject({ type: 'herald.reset', data: JSON.stringify({ reason: 'trimmed' }) })
        expect(resets).toHaveLength(1)
      } else {
        expect(resets).toHaveLength(0)
        expect(tab.count('message')).toBe(burst + 1)
      }
    }
    const figures = record(ledger)
    expect(figures).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0 })
    expect(figures.resets).toBe(bursts.filter((burst) => burst > HISTORY).length)
  })
})
