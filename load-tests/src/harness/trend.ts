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
