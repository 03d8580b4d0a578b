/**
 * How hard the fault suite pushes, from HERALD_FAULT_SCALE: `ci` (the default, run
 * by `pnpm test`) keeps counts bounded; `full` (what `pnpm faults` runs) publishes
 * more and repeats each fault more often.
 */

export type FaultScaleName = 'ci' | 'full'

function readScale(): FaultScaleName {
  const value = process.env['HERALD_FAULT_SCALE'] ?? 'ci'
  if (value !== 'ci' && value !== 'full') throw new Error(`HERALD_FAULT_SCALE must be ci or full, got ${value}`)
  return value
}

export const FAULT_SCALE: FaultScaleName = readScale()

/** The CI value, or the full one under `HERALD_FAULT_SCALE=full`. */
export function atScale<T>(ci: T, full: T): T {
  return FAULT_SCALE === 'full' ? full : ci
}

/** `rounds` message numbers spread evenly over `total`, at which to inject a fault. */
export function faultPoints(total: number, rounds: number): number[] {
  return Array.from({ length: rounds }, (_, i) => Math.floor((total * (i + 1)) / (rounds + 1)))
}

/** Per-test limit for scenarios: generous, because a timeout only turns a hang into a failure. */
export const SCENARIO_TIMEOUT_MS = atScale(180_000, 900_000)
