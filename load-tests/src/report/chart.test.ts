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
})
