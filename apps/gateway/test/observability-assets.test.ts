import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { startTestGateway, type TestGateway } from './harness.js'

const run = promisify(execFile)
const INFRA = new URL('../../../infra/', import.meta.url).pathname
const METRIC = /\b(?:herald|nodejs|process)_[a-z0-9_]+\b/g

/** Every series name a family exports: histograms add _bucket, _sum and _count. */
async function exportedSeries(gateway: TestGateway): Promise<Set<string>> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text()
  const names = new Set<string>()
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match
    names.add(name!)
    if (type === 'histogram' || type === 'summary')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix)
  }
  return names
}

describe('Grafana dashboard and Prometheus alert rules', () => {
  let gateway: TestGateway
  let exported: Set<string>
  beforeAll(async () => {
    gateway = await startTestGateway()
    exported = await exportedSeries(gateway)
  })
  afterAll(() => gateway.close())

  it('the dashboard queries only metrics the gateway exports', async () => {
    const dashboard = JSON.parse(await readFile(`${INFRA}grafana/herald-dashboard.json`, 'utf8'))
    const expressions: string[] = dashboard.panels.flatMap((panel: any) => panel.targets.map((t: any) => t.expr))
    expect(expressions.length).toBeGreaterThan(10)
    const used = new Set(expressions.flatMap((expr) => expr.match(METRIC) ?? []))
    for (const name of used) expect(exported, name).toContain(name)
  })

  it('the alert rules are valid for promtool and use only exported metrics', async () => {
    const path = `${INFRA}prometheus/herald-alerts.yaml`
    const { stdout } = await run('promtool', ['check', 'rules', path])
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/)
    const rules = parse(await readFile(path, 'utf8')).groups.flatMap((group: any) => group.rules)
    const used = new Set<string>(rules.flatMap((rule: any) => String(rule.expr).match(METRIC) ?? []))
    expect(used.size).toBeGreaterThan(5)
    for (const name of used) expect(exported, name).toContain(name)
  })
})
