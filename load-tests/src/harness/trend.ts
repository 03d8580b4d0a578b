/**
 * Least-squares slope of a series, for the soak verdict: does RSS or heap still grow once the
 * process has warmed up?
 */

export function slope(points: ReadonlyArray<readonly [x: number, y: number]>): number {
  const n = points.length
  if (n < 2) return 0
  let sx = 0
  let sy = 0
  for (const [x, y] of points) {
    sx += x
    sy += y
  }
  const mx = sx / n
  const my = sy / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

/**
 * Running minimum over the last `window` values. A garbage-collected heap is a sawtooth whose
 * peaks depend on when the collector ran; its floor is what rises when something leaks.
 */
export function lowerEnvelope(values: readonly number[], window: number): number[] {
  return values.map((_, i) => Math.min(...values.slice(Math.max(0, i - window + 1), i + 1)))
}

/** Growth over the points from `fromX` on, as the fitted line sees it: slope × the span covered. */
export function fittedGrowth(points: ReadonlyArray<readonly [x: number, y: number]>, fromX: number): number {
  const tail = points.filter(([x]) => x >= fromX)
  if (tail.length < 2) return 0
  return slope(tail) * (tail.at(-1)![0] - tail[0]![0])
}
