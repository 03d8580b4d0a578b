import { describe, expect, it } from 'vitest'
import { lineChart } from './chart.js'

describe('lineChart', () => {
  it('draws one polyline and one legend entry per series, escaped', () => {
    const svg = lineChart({
      title: 'CPU <per> delivery',
      xLabel: 'rate',
      yLabel: 'µs',
      logY: true,
      series: [
        {
          name: 'herald',
          points: [
            [1, 5],
            [2, 6],
          ],
        },
        {
          name: 'nchan & co',
          points: [
            [1, 10],
            [2, 0],
          ],
        },
      ],
    })
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg.match(/<polyline/g)).toHaveLength(2)
    expect(svg).toContain('CPU &lt;per&gt; delivery')
    expect(svg).toContain('nchan &amp; co')
  })

  it('gives each of the seven broadcast targets its own colour', () => {
    const series = Array.from({ length: 7 }, (_, i) => ({
      name: `target-${i}`,
      points: [
        [1, i + 1],
        [2, i + 2],
      ] as const,
    }))
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series })
    const colours = [...svg.matchAll(/<polyline[^>]*stroke="([^"]+)"/g)].map((m) => m[1])
    expect(colours).toHaveLength(7)
    expect(new Set(colours).size).toBe(7)
  })
})
