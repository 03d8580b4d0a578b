/**
 * A log-linear latency histogram in integer microseconds, HDR-style: exact below 128 µs, then
 * 64 linear sub-buckets per power of two (relative error under 1.6%). Its counts are a plain
 * array, so workers send them to the coordinator over IPC and the coordinator merges them.
 */

const SUB_BITS = 7
const SUB_COUNT = 1 << SUB_BITS
const HALF = SUB_COUNT >> 1
/** Values are clamped below 2^31 µs (about 35 minutes). */
const MAX_VALUE = 2 ** 31 - 1
export const BUCKET_COUNT = (31 - SUB_BITS + 2) * HALF

export function bucketOf(value: number): number {
  const v = value <= 0 ? 0 : value >= MAX_VALUE ? MAX_VALUE : Math.floor(value)
  if (v < SUB_COUNT) return v
  const shift = 31 - Math.clz32(v) - (SUB_BITS - 1)
  return (shift + 1) * HALF + ((v >>> shift) - HALF)
}

/** The highest value a bucket holds: percentiles report it, as HDR histograms do. */
export function bucketHighest(bucket: number): number {
  if (bucket < SUB_COUNT) return bucket
  const shift = Math.floor(bucket / HALF) - 1
  const mantissa = (bucket % HALF) + HALF
  return (mantissa + 1) * 2 ** shift - 1
}

export class Histogram {
  readonly counts: Float64Array
  total = 0
  max = 0
  sum = 0

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(BUCKET_COUNT)
    if (counts !== undefined) this.add(counts)
  }

  record(valueUs: number): void {
    this.counts[bucketOf(valueUs)]! += 1
    this.total++
    this.sum += valueUs
    if (valueUs > this.max) this.max = valueUs
  }

  /** Adds another histogram's counts (max and sum follow from the buckets, to bucket precision). */
  add(counts: ArrayLike<number>): void {
    for (let i = 0; i < counts.length; i++) {
      const count = counts[i]!
      if (count === 0) continue
      this.counts[i]! += count
      this.total += count
      const high = bucketHighest(i)
      this.sum += count * high
      if (high > this.max) this.max = high
    }
  }

  /** The value at or below which `percentile` % of the recorded values fall. */
  percentile(percentile: number): number {
    if (this.total === 0) return 0
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.total))
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return Math.min(bucketHighest(i), this.max)
    }
    return this.max
  }

  /** Sparse form for IPC and JSON: [bucket, count] pairs. */
  toSparse(): Array<[number, number]> {
    const pairs: Array<[number, number]> = []
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) pairs.push([i, this.counts[i]!])
    return pairs
  }

  static fromSparse(pairs: ReadonlyArray<readonly [number, number]>): Histogram {
    const dense = new Float64Array(BUCKET_COUNT)
    for (const [bucket, count] of pairs) dense[bucket] = count
    return new Histogram(dense)
  }

  reset(): void {
    this.counts.fill(0)
    this.total = 0
    this.max = 0
    this.sum = 0
  }
}

/** The percentiles every result reports, in milliseconds. */
export function summarise(histogram: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000
  return {
    count: histogram.total,
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    p999: ms(histogram.percentile(99.9)),
    max: ms(histogram.max),
  }
}

export interface LatencySummary {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}
