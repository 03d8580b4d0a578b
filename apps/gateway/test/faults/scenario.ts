/**
 * What every fault scenario shares: publishing numbered messages while counting
 * them in a {@link DeliveryLedger}, waiting until each client has seen the last
 * one, and recording and checking the figures.
 */

import { expect } from 'vitest'
import type { RecordingEventSource } from '../harness.js'
import { publishSequence } from '../redis-nodes.js'
import { DeliveryLedger, type ScenarioFigures } from './ledger.js'
import { writeFigures } from './report.js'

export { DeliveryLedger }

/**
 * Publishes messages `0..count-1` through `publish`, paced at about `perSecond`,
 * recording each acknowledged one and each failed attempt (which `onFailure` may
 * wait out before the message is sent again; by default the failure is thrown).
 */
export async function publishCounted(
  ledger: DeliveryLedger,
  count: number,
  perSecond: number,
  publish: (n: number) => Promise<unknown>,
  onFailure: (n: number, error: unknown) => Promise<unknown> = async (_n, error) => {
    throw error
  },
): Promise<void> {
  const { acknowledged } = await publishSequence(
    count,
    perSecond,
    async (n) => {
      await publish(n)
    },
    async (n, error) => {
      ledger.retried(n)
      await onFailure(n, error)
    },
  )
  for (const n of acknowledged) ledger.published(n)
}

/** Resolves once `client` has received message `n`; scans each event once. */
export function waitForMessage(client: RecordingEventSource, n: number, timeoutMs = 30_000): Promise<void> {
  const wanted = JSON.stringify(n)
  let scanned = 0
  return client.waitUntil(
    () => {
      for (; scanned < client.events.length; scanned++) {
        const event = client.events[scanned]!
        if (event.type === 'message' && event.data === wanted) return true
      }
      return false
    },
    `message ${n}`,
    timeoutMs,
  )
}

/** Waits until every client has the last acknowledged message, then records and returns the figures. */
export async function settle(
  ledger: DeliveryLedger,
  clients: readonly RecordingEventSource[],
  timeoutMs = 30_000,
): Promise<ScenarioFigures> {
  const last = ledger.acknowledged.at(-1)
  if (last !== undefined) await Promise.all(clients.map((client) => waitForMessage(client, last, timeoutMs)))
  return record(ledger)
}

export function record(ledger: DeliveryLedger): ScenarioFigures {
  const figures = ledger.figures()
  writeFigures(figures)
  return figures
}

/** Every client got every acknowledged message exactly once, in order, with no reset. */
export function expectExact(figures: ScenarioFigures): void {
  expect(figures.published).toBeGreaterThan(0)
  expect(
    figures.perClient.map(({ client, received, lost, duplicated, outOfOrder, resets }) => ({
      client,
      received,
      lost,
      duplicated,
      outOfOrder,
      resets,
    })),
  ).toEqual(
    figures.perClient.map(({ client }) => ({
      client,
      received: figures.published,
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      resets: 0,
    })),
  )
}
