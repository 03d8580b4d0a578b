/**
 * The parameters of every scenario at each scale: `smoke` (CI: tens of streams, seconds),
 * `medium` (a quick check on a busy machine) and `full` (the published comparison).
 */
import type { BroadcastParams } from './broadcast.js'
import type { FunctionInstructionsParams } from './function-instructions.js'
import type { HeapParams } from './heap.js'
import type { IdleParams } from './idle.js'
import type { IdleCostParams } from './idle-cost.js'
import type { PublishCostParams } from './publish-cost.js'
import type { ResumeParams } from './resume.js'
import type { SoakParams } from './soak.js'
import type { SubscribeCostParams } from './subscribe-cost.js'
import type { UnicastParams } from './unicast.js'
import type { UnicastTailParams } from './unicast-tail.js'

export type Scale = 'smoke' | 'medium' | 'full'

export interface Plan {
  readonly idle: IdleParams
  readonly unicast: UnicastParams
  readonly broadcast: BroadcastParams
  readonly resume: ResumeParams
  readonly nodes: UnicastParams
  readonly soak: SoakParams
  /** The heap diagnostic: snapshots at `from` and at `to` streams. */
  readonly heap: HeapParams
  /** The publishing-cost diagnostic. */
  readonly publishCost: PublishCostParams
  /** The subscribe-cost diagnostic. */
  readonly subscribeCost: SubscribeCostParams
  /** The Redis functions' instruction counts (Redis under callgrind, about 50 times slower). */
  readonly functionInstructions: FunctionInstructionsParams
  /** The unicast-tail diagnostic (Herald only). */
  readonly unicastTail: UnicastTailParams
  /** The idle-cost diagnostic (Node servers). */
  readonly idleCost: IdleCostParams
  /** How long the host-stall probes run, before and after each scenario and in the `host-stalls` diagnostic. */
  readonly hostStallSeconds: number
}

export const PLANS: Record<Scale, Plan> = {
  smoke: {
    idle: { connections: 30, steps: 2, settleMs: 200 },
    unicast: { connections: 20, rates: [100, 200], stepSeconds: 1, stopAboveP99Ms: 5_000 },
    broadcast: { connections: 20, rates: [5], stepSeconds: 1, minMessagesPerStep: 10, stopAboveP99Ms: 5_000 },
    resume: { connections: 20, missed: 3, timeoutSeconds: 5 },
    nodes: { connections: 20, rates: [100], stepSeconds: 1, stopAboveP99Ms: 5_000, nodes: 2 },
    soak: {
      minutes: 0.1,
      connections: 20,
      unicastRate: 50,
      broadcastRate: 5,
      churnFraction: 0.2,
      churnEverySeconds: 2,
      sampleEverySeconds: 1,
    },
    heap: { from: 10, to: 30 },
    publishCost: { messages: 200, pacedMessages: 50, batch: 50, users: 20, rounds: 1 },
    subscribeCost: { messages: 200, users: 20, batch: 50, rounds: 1 },
    functionInstructions: { calls: 4, messagesPerCall: 5, users: 2 },
    unicastTail: { connections: 20, rates: [100], stepSeconds: 1 },
    idleCost: { connections: 20, heartbeatIntervalMs: 250, settleSeconds: 0.25, windowSeconds: 1 },
    hostStallSeconds: 0.3,
  },
  medium: {
    idle: { connections: 4_000, steps: 4, settleMs: 12_000 },
    unicast: { connections: 2_000, rates: [1_000, 5_000, 10_000], stepSeconds: 3, stopAboveP99Ms: 200 },
    broadcast: { connections: 2_000, rates: [1, 5], stepSeconds: 3, stopAboveP99Ms: 500 },
    resume: { connections: 4_000, missed: 5, timeoutSeconds: 30 },
    nodes: { connections: 2_000, rates: [1_000, 5_000], stepSeconds: 3, stopAboveP99Ms: 200, nodes: 2 },
    soak: {
      minutes: 1,
      connections: 1_000,
      unicastRate: 500,
      broadcastRate: 2,
      churnFraction: 0.05,
      churnEverySeconds: 5,
      sampleEverySeconds: 5,
    },
    heap: { from: 500, to: 2_000 },
    publishCost: { messages: 20_000, pacedMessages: 2_000, batch: 50, users: 2_000, rounds: 2 },
    subscribeCost: { messages: 50_000, users: 2_000, batch: 50, rounds: 2 },
    functionInstructions: { calls: 200, messagesPerCall: 30, users: 50 },
    unicastTail: { connections: 2_000, rates: [5_000, 10_000], stepSeconds: 3 },
    idleCost: { connections: 2_000, heartbeatIntervalMs: 15_000, settleSeconds: 12, windowSeconds: 30 },
    hostStallSeconds: 3,
  },
  full: {
    idle: { connections: 19_000, steps: 5, settleMs: 12_000 },
    unicast: {
      connections: 10_000,
      // Finer where the targets' p99 crosses 10 ms (Nchan with Redis stalls near 8k/s), so
      // "the highest rate met" is not decided by a coarse grid.
      rates: [5_000, 7_500, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000],
      stepSeconds: 5,
      stopAboveP99Ms: 200,
    },
    broadcast: {
      connections: 10_000,
      rates: [1, 2, 5, 10, 15],
      stepSeconds: 5,
      minMessagesPerStep: 20,
      stopAboveP99Ms: 1_000,
    },
    resume: { connections: 19_000, missed: 5, timeoutSeconds: 60 },
    nodes: {
      connections: 8_000,
      rates: [5_000, 10_000, 20_000, 30_000],
      stepSeconds: 5,
      stopAboveP99Ms: 200,
      nodes: 2,
    },
    soak: {
      minutes: 30,
      connections: 4_000,
      unicastRate: 1_000,
      broadcastRate: 1,
      churnFraction: 0.02,
      churnEverySeconds: 5,
      sampleEverySeconds: 10,
    },
    heap: { from: 1_000, to: 4_000 },
    publishCost: { messages: 100_000, pacedMessages: 5_000, batch: 50, users: 10_000, rounds: 3 },
    subscribeCost: { messages: 300_000, users: 10_000, batch: 50, rounds: 3 },
    functionInstructions: { calls: 1_000, messagesPerCall: 30, users: 100 },
    // The first step after 10k connects absorbs their aftermath; the rates of interest follow it.
    unicastTail: { connections: 10_000, rates: [10_000, 10_000, 20_000, 30_000, 30_000], stepSeconds: 5 },
    idleCost: { connections: 10_000, heartbeatIntervalMs: 15_000, settleSeconds: 15, windowSeconds: 60 },
    hostStallSeconds: 5,
  },
}
