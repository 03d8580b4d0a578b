/**
 * Reads one histogram out of a Prometheus text exposition (`/metrics`): its cumulative buckets,
 * count and sum, for the series whose labels include the given ones. Diagnostics diff two reads
 * taken around a step.
 */

export interface HistogramRead {
  /** Cumulative counts by upper bound, `Infinity` for `+Inf`. */
  readonly buckets: ReadonlyMap<number, number>
  readonly count: number
  readonly sum: number
}

const SERIES = /^(\w+?)_(bucket|count|sum)(?:\{([^}]*)\})? (\S+)$/gm
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g

export function readHistogram(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): HistogramRead {
  const buckets = new Map<number, number>()
  let count = 0
  let sum = 0
  for (const [, metric, part, labelText = '', value] of text.matchAll(SERIES)) {
    if (metric !== name) continue
    const found = new Map([...labelText.matchAll(LABEL)].map(([, key, labelValue]) => [key!, labelValue!]))
    if (Object.entries(labels).some(([key, wanted]) => found.get(key) !== wanted)) continue
    const number = Number(value)
    if (part === 'count') count += number
    else if (part === 'sum') sum += number
    else {
      const le = found.get('le')
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le)
      buckets.set(bound, (buckets.get(bound) ?? 0) + number)
    }
  }
  return { buckets, count, sum }
}

/** What happened between two reads: per-bucket, count and sum differences. */
export function histogramBetween(before: HistogramRead, after: HistogramRead): HistogramRead {
  const buckets = new Map<number, number>()
  for (const [bound, n] of after.buckets) buckets.set(bound, n - (before.buckets.get(bound) ?? 0))
  return { buckets, count: after.count - before.count, sum: after.sum - before.sum }
}

/** The share (0–1) of observations above `bound`, which must be one of the histogram's bounds. */
export function shareAbove(read: HistogramRead, bound: number): number {
  const atOrBelow = read.buckets.get(bound)
  if (atOrBelow === undefined) throw new Error(`no bucket with upper bound ${bound}`)
  return read.count === 0 ? 0 : 1 - atOrBelow / read.count
}
