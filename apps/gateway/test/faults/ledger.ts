/**
 * The delivery ledger every fault scenario counts with: what was acknowledged to
 * the publisher, and what each client received, in order. A message is lost when
 * a client never got it and no `herald.reset` announced the gap it fell in; it is
 * duplicated when a client got it more than once. Pure: it reads recorded events.
 */

import type { ReceivedEvent } from '../harness.js'

/** What a client received, or all clients of a scenario together. */
export interface DeliveryCounts {
  readonly received: number
  readonly lost: number
  readonly duplicated: number
  readonly outOfOrder: number
  readonly resets: number
  /** Missing messages that fell in a gap a `herald.reset` announced. */
  readonly skippedAfterReset: number
}

export interface ClientFigures extends DeliveryCounts {
  readonly client: string
  readonly lostIds: readonly number[]
  readonly duplicatedIds: readonly number[]
}

export interface ScenarioFigures extends DeliveryCounts {
  readonly scenario: string
  readonly clients: number
  readonly published: number
  /** Deliveries owed: every published message to every client. */
  readonly expected: number
  /** Publishes that failed during the fault and were sent again (same idempotency key). */
  readonly retried: number
  readonly perClient: readonly ClientFigures[]
}

/** Something that records events, read when the figures are taken (a RecordingEventSource). */
export interface EventRecord {
  readonly events: readonly ReceivedEvent[]
}

export class DeliveryLedger {
  readonly #published: number[] = []
  readonly #retried = new Set<number>()
  readonly #clients = new Map<string, EventRecord[]>()

  constructor(readonly scenario: string) {}

  /** Message `n` (a number, published in increasing order) was acknowledged. */
  published(n: number): void {
    this.#published.push(n)
  }

  /** A publish of `n` failed and will be sent again. */
  retried(n: number): void {
    this.#retried.add(n)
  }

  get acknowledged(): readonly number[] {
    return this.#published
  }

  get retriedIds(): ReadonlySet<number> {
    return this.#retried
  }

  /** Every published message is owed to `client`; its records (one per connection it made) are read in order. */
  track(client: string, ...records: EventRecord[]): void {
    const known = this.#clients.get(client) ?? []
    known.push(...records)
    this.#clients.set(client, known)
  }

  figures(): ScenarioFigures {
    const perClient = [...this.#clients].map(([client, records]) =>
      clientFigures(
        client,
        this.#published,
        records.flatMap((record) => record.events),
      ),
    )
    const sum = (field: keyof DeliveryCounts) => perClient.reduce((total, c) => total + c[field], 0)
    return {
      scenario: this.scenario,
      clients: perClient.length,
      published: this.#published.length,
      expected: this.#published.length * perClient.length,
      received: sum('received'),
      lost: sum('lost'),
      duplicated: sum('duplicated'),
      outOfOrder: sum('outOfOrder'),
      resets: sum('resets'),
      skippedAfterReset: sum('skippedAfterReset'),
      retried: this.#retried.size,
      perClient,
    }
  }
}

/** One client's figures from its events, in arrival order; message payloads are the published numbers. */
export function clientFigures(
  client: string,
  published: readonly number[],
  events: readonly ReceivedEvent[],
): ClientFigures {
  const seen = new Map<number, number>()
  const announced: Array<[after: number, before: number]> = []
  let highest = Number.NEGATIVE_INFINITY
  let outOfOrder = 0
  let resets = 0
  let resetAfter: number | undefined
  for (const event of events) {
    if (event.type === 'herald.reset') {
      resets++
      resetAfter ??= highest
      continue
    }
    if (event.type !== 'message') continue
    const n = JSON.parse(event.data) as number
    seen.set(n, (seen.get(n) ?? 0) + 1)
    if (n < highest) outOfOrder++
    if (resetAfter !== undefined) {
      announced.push([resetAfter, n])
      resetAfter = undefined
    }
    highest = Math.max(highest, n)
  }
  // A reset with nothing after it announces everything after the last message seen.
  if (resetAfter !== undefined) announced.push([resetAfter, Number.POSITIVE_INFINITY])
  const missing = published.filter((n) => !seen.has(n))
  const inAnnouncedGap = (n: number) => announced.some(([after, before]) => n > after && n < before)
  const lostIds = missing.filter((n) => !inAnnouncedGap(n))
  const duplicatedIds = [...seen].filter(([, times]) => times > 1).map(([n]) => n)
  return {
    client,
    received: [...seen.values()].reduce((a, b) => a + b, 0),
    lost: lostIds.length,
    duplicated: [...seen.values()].reduce((total, times) => total + times - 1, 0),
    outOfOrder,
    resets,
    skippedAfterReset: missing.length - lostIds.length,
    lostIds,
    duplicatedIds,
  }
}
