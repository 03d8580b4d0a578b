/**
 * Line charts as standalone SVG, generated from result JSON (no browser, no dependencies):
 * one series per target, linear or log y axis, labelled ticks and a legend.
 */

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [x: number, y: number]>
}

export interface ChartSpec {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly Series[]
  readonly logY?: boolean
  /** Category names for x = 0, 1, 2… (e.g. percentiles) instead of numbers. */
  readonly xCategories?: readonly string[]
}

const WIDTH = 700
const HEIGHT = 360
const MARGIN = { left: 70, right: 210, top: 36, bottom: 48 }
/** One per target a chart can hold (broadcast has seven), so no two lines share a colour. */
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function niceTicks(min: number, max: number, count = 5): number[] {
  if (max <= min) return [min]
  const raw = (max - min) / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw
  const ticks: number[] = []
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)))
  return ticks
}

const label = (v: number) =>
  Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3)))

export function lineChart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points)
  const plotW = WIDTH - MARGIN.left - MARGIN.right
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom
  const xs = all.map(([x]) => x)
  const ys = all.map(([, y]) => y).filter((y) => !spec.logY || y > 0)
  const xMin = spec.xCategories ? 0 : Math.min(0, ...xs)
  const xMax = spec.xCategories ? spec.xCategories.length - 1 : Math.max(1, ...xs)
  const yMin = spec.logY ? 10 ** Math.floor(Math.log10(Math.min(...ys, 1))) : 0
  const yMax = spec.logY ? 10 ** Math.ceil(Math.log10(Math.max(...ys, 1))) : Math.max(...ys, 1) * 1.1
  const fy = (y: number) =>
    spec.logY
      ? (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))
      : (y - yMin) / (yMax - yMin)
  const px = (x: number) => MARGIN.left + ((x - xMin) / Math.max(1e-9, xMax - xMin)) * plotW
  const py = (y: number) => MARGIN.top + plotH - fy(y) * plotH
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2 - MARGIN.right / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(spec.title)}</text>`,
  ]
  const yTicks = spec.logY
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : niceTicks(yMin, yMax)
  for (const t of yTicks) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`)
    out.push(`<text x="${MARGIN.left - 6}" y="${py(t) + 4}" text-anchor="end">${label(t)}</text>`)
  }
  const xTicks = spec.xCategories ? spec.xCategories.map((_, i) => i) : niceTicks(xMin, xMax)
  for (const t of xTicks) {
    const text = spec.xCategories ? spec.xCategories[t]! : label(t)
    out.push(`<text x="${px(t)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${escapeXml(text)}</text>`)
  }
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
  )
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
  )
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  )
  out.push(
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  )
  spec.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length]
    const points = series.points.filter(([, y]) => !spec.logY || y > 0)
    if (points.length > 0) {
      const path = points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')
      out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`)
      for (const [x, y] of points)
        out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${colour}"/>`)
    }
    const ly = MARGIN.top + 10 + i * 18
    out.push(`<rect x="${WIDTH - MARGIN.right + 12}" y="${ly - 8}" width="12" height="4" fill="${colour}"/>`)
    out.push(`<text x="${WIDTH - MARGIN.right + 30}" y="${ly - 2}">${escapeXml(series.name)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
