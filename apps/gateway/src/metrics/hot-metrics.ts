/**
 * A counter and a histogram for the per-delivery path. prom-client's `inc` and
 * `observe` allocate a labels object and a closure on every call and reach
 * their state through generic (megamorphic) property loads; these keep plain
 * numbers and a Float64Array, and build prom-client's metric object only when
 * the registry is scraped. Unlabelled on purpose: labels are what make the
 * generic path necessary.
 */

import type { Metric, Registry } from 'prom-client'

type HotMetricType = 'counter' | 'histogram'

interface MetricSample {
  value: number
  labels: Record<string, string | number>
  metricName?: string
}

interface MetricSnapshot {
  name: string
  help: string
  type: HotMetricType
  aggregator: 'sum'
  values: MetricSample[]
}

/** The structural interface prom-client's Registry reads: name, help, type, aggregator, get and reset. */
abstract class HotMetric {
  readonly aggregator = 'sum' as const
  abstract readonly type: HotMetricType

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    // The Registry is typed to prom-client's own classes but only reads the members above.
    registry.registerMetric(this as unknown as Metric)
  }

  async get(): Promise<MetricSnapshot> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples() }
  }

  protected abstract samples(): MetricSample[]
  abstract reset(): void
}

export class HotCounter extends HotMetric {
  readonly type = 'counter'
  #value = 0

  inc(by: number): void {
    this.#value += by
  }

  protected samples(): MetricSample[] {
    return [{ value: this.#value, labels: {} }]
  }

  reset(): void {
    this.#value = 0
  }
}

export class HotHistogram extends HotMetric {
  readonly type = 'histogram'
  readonly #upperBounds: Float64Array
  /** Per bucket, not cumulative; the last slot is above every bound (+Inf). */
  readonly #bucketCounts: Float64Array
  #sum = 0

  constructor(name: string, help: string, upperBounds: readonly number[], registry: Registry) {
    super(name, help, registry)
    this.#upperBounds = Float64Array.from([...upperBounds].sort((a, b) => a - b))
    this.#bucketCounts = new Float64Array(this.#upperBounds.length + 1)
  }

  /** A value that is not a finite number is dropped: it would turn the sum into NaN for good. */
  observe(value: number): void {
    if (!Number.isFinite(value)) return
    const bounds = this.#upperBounds
    // Linear: with about ten bounds and most values in the first few, it beats a binary search.
    let bucket = 0
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++
    this.#bucketCounts[bucket]! += 1
    this.#sum += value
  }

  protected samples(): MetricSample[] {
    const bucketName = `${this.name}_bucket`
    const samples: MetricSample[] = []
    let cumulative = 0
    this.#upperBounds.forEach((le, bucket) => {
      cumulative += this.#bucketCounts[bucket]!
      samples.push({ value: cumulative, labels: { le }, metricName: bucketName })
    })
    // The count is every bucket's, the one above every bound included: no running total kept for it.
    const count = cumulative + this.#bucketCounts[this.#upperBounds.length]!
    samples.push(
      { value: count, labels: { le: '+Inf' }, metricName: bucketName },
      { value: this.#sum, labels: {}, metricName: `${this.name}_sum` },
      { value: count, labels: {}, metricName: `${this.name}_count` },
    )
    return samples
  }

  reset(): void {
    this.#bucketCounts.fill(0)
    this.#sum = 0
  }
}
