import { describe, expect, it } from 'vitest'
import { ceiling, header } from './report.js'
import type { ResultFile } from './results.js'

const machine = {
  cores: 2,
  cpuModel: 'Intel(R) Xeon(R) Processor',
  memoryGiB: 24,
  kernel: 'Linux 6.18',
  node: 'v20.20.2',
  nginx: '1.22.1',
  nchan: '1:1.3.6',
  redis: '7.0.15',
}

function run(scenario: ResultFile['scenario'], cpuModel: string): ResultFile {
  return {
    scenario,
    command: `pnpm --filter @herald/load-tests ${scenario}`,
    scale: 'full',
    date: '2026-11-22T00:00:00.000Z',
    machine: { ...machine, cpuModel },
    loadAverage: { before: 0.5, after: 1 },
    params: {},
    runs: [],
    failures: [],
  }
}

describe('header', () => {
  it('names the machine once when every run shares it', () => {
    const text = header([run('idle', 'Intel(R) Xeon(R) Processor'), run('unicast', 'Intel(R) Xeon(R) Processor')])
    expect(text).toContain('- **Machine:** 2 cores (Intel(R) Xeon(R) Processor)')
    expect(text.match(/Xeon/g)).toHaveLength(1)
  })

  it("names each run's machine when they differ, and says to compare within a scenario", () => {
    const text = header([run('idle', 'AMD EPYC'), run('unicast', 'Intel(R) Xeon(R) Processor')])
    expect(text).not.toContain('- **Machine:**')
    expect(text).toContain('compare targets within a scenario')
    expect(text).toMatch(/`idle`.*AMD EPYC/)
    expect(text).toMatch(/`unicast`.*Intel\(R\) Xeon/)
  })

  it("shows each run's CPU steal, and flags a run with more than 5 % stolen as not the comparison run", () => {
    const quiet = { ...run('idle', 'AMD EPYC'), cpuStealPercent: 0.4 }
    expect(header([quiet])).toContain('CPU steal 0.4 %')
    expect(header([quiet])).not.toContain('Not the comparison run')
    const stolen = { ...run('unicast', 'AMD EPYC'), cpuStealPercent: 12.5 }
    expect(header([quiet, stolen])).toContain('CPU steal 12.5 %')
    expect(header([quiet, stolen])).toContain('Not the comparison run')
  })

  it("shows each run's host stalls before and after, and explains them only when a run has them", () => {
    const stalls = (lostPercent: number, longestMs: number, otherWorkPercent: number, busiest: string) => ({
      probes: 2,
      seconds: 5,
      lostPercent,
      pausesPerSecond: 9,
      longestMs,
      otherWorkPercent,
      busiestOthers: [busiest, 'redis-server 10 ms'],
    })
    const probed = {
      ...run('unicast', 'AMD EPYC'),
      hostStalls: { before: stalls(0.9, 6.4, 0.1, 'kdamond.0 20 ms'), after: stalls(1.2, 8.6, 0.3, 'beam.smp 30 ms') },
    }
    const text = header([probed])
    expect(text).toContain(
      "a busy core lost 0.9 / 1.2 % in pauses, the longest 6.4 / 8.6 ms, while the machine's other processes used 0.1 / 0.3 % (busiest: kdamond.0 20 ms, redis-server 10 ms / beam.smp 30 ms, redis-server 10 ms)",
    )
    expect(text).toContain('"Host stalls" is what a busy loop')
    expect(header([run('idle', 'AMD EPYC')])).not.toContain('Host stalls')
  })
})

describe('ceiling', () => {
  const step = (rate: number, published: number, deliveries: number, p99: number) =>
    ({ rate, achievedRate: rate, published, deliveries, latencyMs: { p99 } }) as never

  it('is the highest step met with every message delivered: a server gone mid-run meets nothing after', () => {
    const run = {
      target: 'herald',
      connections: 10,
      steps: [step(100, 99, 99, 3.1), step(200, 199, 0, 0)],
      verdict: { lost: 199, duplicates: 0, outOfOrder: 0 },
    } as never
    expect(ceiling(run)?.rate).toBe(100)
  })
})
