/**
 * What every fault scenario shares: publishing numbered messages while counting
 * them in a {@link DeliveryLedger}, waiting until each client has seen the last
 * one, and recording and checking the figures.
 */

import { expect } from 'vitest'
import { RecordingEventSource, signToken } from '../harness.js'
import { type GatewayNode, publishSequence } from '../redis-nodes.js'
import { DeliveryLedger, type ScenarioFigures } from './ledger.js'
import { writeFigures } from './report.js'
import { faultPoints } from './scale.js'

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

/**
 * Publishes like {@link publishCounted}, starting fault `round` (0 to `rounds - 1`, spread evenly
 * over the messages) without waiting for it. A publish that fails meanwhile is sent again once the
 * fault has run its course; resolves once the last fault has too.
 */
export async function publishThroughFaults(
  ledger: DeliveryLedger,
  count: number,
  perSecond: number,
  rounds: number,
  fault: (round: number) => Promise<unknown>,
  publish: (n: number) => Promise<unknown>,
): Promise<void> {
  const points = faultPoints(count, rounds)
  let running: Promise<unknown> = Promise.resolve()
  await publishCounted(
    ledger,
    count,
    perSecond,
    async (n) => {
      const round = points.indexOf(n)
      if (round >= 0) {
        points[round] = -1
        running = fault(round)
      }
      await publish(n)
    },
    () => running,
  )
  await running
}

/** A tab per user on each node, counted in `ledger` as `node<i>/<user>`; resolves once all are live. */
export async function openTabs(
  ledger: DeliveryLedger,
  nodes: readonly GatewayNode[],
  users: readonly string[],
): Promise<RecordingEventSource[]> {
  const tabs: RecordingEventSource[] = []
  for (const [i, node] of nodes.entries()) {
    for (const user of users) {
      const tab = new RecordingEventSource(node.eventsUrl(), { token: await signToken(user) })
      tabs.push(tab)
      ledger.track(`node${i}/${user}`, tab)
    }
  }
  await Promise.all(tabs.map((tab) => tab.waitForReady()))
  return tabs
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
  try {
    if (last !== undefined) await Promise.all(clients.map((client) => waitForMessage(client, last, timeoutMs)))
  } catch (error) {
    // Still record what arrived, and say who is missing what.
    const stuck = record(ledger).perClient.filter((client) => client.lost > 0)
    const detail = stuck.map((c) => `${c.client}: ${c.received} received, lost ${c.lostIds.slice(0, 5)}…`)
    throw new Error(`${(error as Error).message}; ${detail.join('; ')}`)
  }
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

/**
 * Across a failover: every gap announced by a herald.reset right where it happens, nothing
 * out of order, and a message twice only if its publish was retried (a failed attempt may have
 * reached subscribers before the old master went, and its idempotency key may have gone with it).
 */
export function expectNoSilentLoss(figures: ScenarioFigures, ledger: DeliveryLedger): void {
  expect(figures.lost).toBe(0)
  expect(figures.outOfOrder).toBe(0)
  const unexplained = figures.perClient.flatMap(({ duplicatedIds }) =>
    duplicatedIds.filter((n) => !ledger.retriedIds.has(n)),
  )
  expect(unexplained).toEqual([])
}
