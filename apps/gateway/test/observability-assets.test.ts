import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
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

/** One `promtool test rules` case: series sampled each minute, and the alerts expected when. */
interface AlertRuleCase {
  readonly input_series: ReadonlyArray<{ series: string; values: string }>
  readonly alert_rule_test: ReadonlyArray<{ eval_time: string; alertname: string; exp_alerts: object[] }>
}

/** An alert expected to fire with these labels and annotations. */
function expectedAlert(labels: Record<string, string>, summary: string, description: string) {
  return { exp_labels: labels, exp_annotations: { summary, description } }
}

/** An alert expected to fire for one instance, with its annotations. */
function firing(instance: string, severity: string, summary: string, description: string) {
  return expectedAlert({ severity, instance }, summary, description)
}

/** Input series of `metric` for one instance, as promtool's `values` notation gives them. */
function instanceSeries(metric: string) {
  return (instance: string, values: string) => ({ series: `${metric}{instance="${instance}"}`, values })
}

/** Input series of `metric` for one instance and one value of `label`, as promtool's `values` notation gives them. */
function labelledSeries(metric: string, label: string) {
  return (instance: string, value: string, values: string) => ({
    series: `${metric}{instance="${instance}",${label}="${value}"}`,
    values,
  })
}

/** Runs `promtool test rules` on these cases against the shipped rules; fails the test on any failure. */
async function expectPromtoolTestsPass(...cases: AlertRuleCase[]): Promise<void> {
  const tests = {
    rule_files: [`${INFRA}prometheus/herald-alerts.yaml`],
    evaluation_interval: '1m',
    tests: cases.map((test) => ({ interval: '1m', ...test })),
  }
  const dir = await mkdtemp(join(tmpdir(), 'herald-alerts-'))
  try {
    await writeFile(join(dir, 'tests.yaml'), stringify(tests))
    const { stdout } = await run('promtool', ['test', 'rules', join(dir, 'tests.yaml')]).catch((error) => {
      throw new Error(`promtool test rules failed:\n${error.stdout}${error.stderr}`)
    })
    expect(stdout).toMatch(/SUCCESS/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
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

  it('exports only series promtool finds well named: no gauge named as a counter', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text()
    const check = run('promtool', ['check', 'metrics'])
    check.child.stdin!.end(text)
    const { stdout, stderr } = await check
    expect(stdout + stderr).toBe('')
  })

  it('gives every panel its own id and its own place on the grid', async () => {
    // Grafana keys links, alerts and saved panel state by id, and lays out overlapping panels
    // by pushing one down, so a panel added in the wrong place moves every panel under it.
    const dashboard = JSON.parse(await readFile(`${INFRA}grafana/herald-dashboard.json`, 'utf8'))
    const panels: Array<{ id: unknown; title: string; gridPos: { x: number; y: number; w: number; h: number } }> =
      dashboard.panels
    const ids = panels.map((panel) => panel.id)
    expect(ids.every((id) => Number.isInteger(id))).toBe(true)
    expect(new Set(ids).size).toBe(panels.length)
    const overlapping = panels.flatMap((a, i) =>
      panels
        .slice(i + 1)
        .filter(
          (b) =>
            a.gridPos.x < b.gridPos.x + b.gridPos.w &&
            b.gridPos.x < a.gridPos.x + a.gridPos.w &&
            a.gridPos.y < b.gridPos.y + b.gridPos.h &&
            b.gridPos.y < a.gridPos.y + a.gridPos.h,
        )
        .map((b) => `${a.title} / ${b.title}`),
    )
    expect(overlapping).toEqual([])
    expect(panels.every((panel) => panel.gridPos.x + panel.gridPos.w <= 24)).toBe(true)
  })

  it("shows or alerts on every one of Herald's own metrics, so none is exported for nobody", async () => {
    const dashboard = await readFile(`${INFRA}grafana/herald-dashboard.json`, 'utf8')
    const alerts = await readFile(`${INFRA}prometheus/herald-alerts.yaml`, 'utf8')
    const families = [...exported].filter((name) => name.startsWith('herald_') && !/_(?:bucket|sum|count)$/.test(name))
    expect(families.length).toBeGreaterThan(10)
    // Whole names (a histogram's with its series' suffix): herald_connections must not pass for
    // being part of herald_connections_max.
    const unseen = families.filter(
      (name) => !new RegExp(`\\b${name}(?:_bucket|_sum|_count)?\\b`).test(dashboard + alerts),
    )
    expect(unseen).toEqual([])
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

  it('raises HeraldNodeNearCapacity at 90 % of the budget each node exports, whatever that budget is', async () => {
    expect(exported).toContain('herald_connections_max')
    const series = (instance: string, open: number, max: number) => [
      { series: `herald_connections{instance="${instance}"}`, values: `${open}x15` },
      { series: `herald_connections_max{instance="${instance}"}`, values: `${max}x15` },
    ]
    await expectPromtoolTestsPass({
      // 17,500 of 19,000 is over 90 %; the same count of 20,000 is not; 1,900 of 2,000 is.
      input_series: [...series('a', 17_500, 19_000), ...series('b', 17_500, 20_000), ...series('c', 1_900, 2_000)],
      alert_rule_test: [
        {
          eval_time: '12m',
          alertname: 'HeraldNodeNearCapacity',
          exp_alerts: ['a', 'c'].map((instance) =>
            firing(
              instance,
              'warning',
              `Herald node ${instance} is near its connection budget`,
              'Over 90% of its MAX_CONNECTIONS open streams on one node for 10 minutes; check the HPA.',
            ),
          ),
        },
      ],
    })
  })

  it("raises HeraldEventLoopLag for a lagging gateway, not for another Node.js app's same metric", async () => {
    const lag = (instance: string, seconds: number, herald: boolean) => [
      { series: `nodejs_eventloop_lag_p99_seconds{instance="${instance}"}`, values: `${seconds}x15` },
      ...(herald ? [{ series: `herald_connections_max{instance="${instance}"}`, values: '19000x15' }] : []),
    ]
    await expectPromtoolTestsPass({
      // a: a lagging gateway; b: a quiet one; other: some other prom-client app, lagging.
      input_series: [...lag('a', 0.5, true), ...lag('b', 0.1, true), ...lag('other', 0.9, false)],
      alert_rule_test: [
        {
          eval_time: '10m',
          alertname: 'HeraldEventLoopLag',
          exp_alerts: [
            firing(
              'a',
              'warning',
              'Event loop lag on a',
              'p99 event-loop lag 100 ms above the sampling period: the node is CPU-bound; scale out.',
            ),
          ],
        },
      ],
    })
  })

  it('raises HeraldTokenVerificationFailing for a node that refused tokens through a fault of its own, not for bad tokens', async () => {
    const rejected = labelledSeries('herald_connections_rejected_total', 'reason')
    await expectPromtoolTestsPass({
      // a: two streams refused 500 at minute 3; b: many bad tokens (401s) and no internal refusal.
      input_series: [
        rejected('a', 'internal', '0 0 0 2 2 2 2'),
        rejected('b', 'auth', '0 50 100 150 200 250 300'),
        rejected('b', 'internal', '0x6'),
      ],
      alert_rule_test: [
        {
          eval_time: '4m',
          alertname: 'HeraldTokenVerificationFailing',
          exp_alerts: [
            firing(
              'a',
              'critical',
              'Herald node a fails to verify tokens',
              'Streams were refused with 500 HERALD_ERR_INTERNAL while verifying their tokens in the last 5 minutes: a fault of the node, not of the clients. Its log has the error with its stack.',
            ),
          ],
        },
      ],
    })
  })

  it('raises HeraldKeySetUnreachable for a node whose JWKS fetches fail for an hour, not for an idle node nor after an outage', async () => {
    const age = instanceSeries('herald_key_set_age_seconds')
    const failures = instanceSeries('herald_key_set_fetch_failures_total')
    await expectPromtoolTestsPass({
      input_series: [
        // a: fetched at minute 0, then every fetch fails from minute 5 (one a minute).
        age('a', '0+60x100'),
        failures('a', '0x5 1+1x95'),
        // b: fetched at minute 0, and no token has needed a refresh since: no fetch, no failure.
        age('b', '0+60x100'),
        failures('b', '0x100'),
        // c: fetches fail for 30 minutes, then one works, and the node goes idle.
        age('c', '0+60x30 0+60x69'),
        failures('c', '0 1+1x29 30x70'),
      ],
      alert_rule_test: [
        { eval_time: '64m', alertname: 'HeraldKeySetUnreachable', exp_alerts: [] },
        {
          eval_time: '100m',
          alertname: 'HeraldKeySetUnreachable',
          exp_alerts: [
            firing(
              'a',
              'warning',
              'Herald node a cannot fetch its JWKS',
              'The node has not fetched a usable key set from JWT_JWKS_URL for over an hour, and its fetches fail (its log says why). It verifies tokens of the keys it has, for up to a day after its last fetch; tokens of keys published since are shed as keys_unavailable, and a day on every stream that needs a key is.',
            ),
          ],
        },
      ],
    })
  })

  it('raises HeraldPublishesFailing for publishes answered 503 that go on for 5 minutes, by code', async () => {
    const failures = labelledSeries('herald_publish_failures_total', 'code')
    const publishesFailing = expectedAlert(
      { severity: 'warning', code: 'broker_unavailable' },
      'Publishes are answered 503 (broker_unavailable)',
      'Over 0.1 published messages a second have been answered 503 in every 2 minutes for 5 minutes (a run of failures shorter than 3 minutes never pages). broker_unavailable: Redis is away, too slow or refusing writes (out of memory, ACL); not_replicated: stored, but fewer replicas confirm than PUBLISH_WAIT_REPLICAS. Backends retry with their idempotency keys, and their notifications wait.',
    )
    await expectPromtoolTestsPass({
      // 30 messages a minute on each of two nodes from minute 1; not one unreplicated.
      input_series: [
        failures('a', 'broker_unavailable', '0 0+30x14'),
        failures('b', 'broker_unavailable', '0 0+30x14'),
        failures('a', 'not_replicated', '0x15'),
      ],
      alert_rule_test: [
        { eval_time: '4m', alertname: 'HeraldPublishesFailing', exp_alerts: [] },
        { eval_time: '12m', alertname: 'HeraldPublishesFailing', exp_alerts: [publishesFailing] },
      ],
    })
  })

  it('raises HeraldPublishesRefused for publishes refused for their key that go on, not for bad bodies', async () => {
    const refusals = labelledSeries('herald_publish_refusals_total', 'reason')
    const refused = expectedAlert(
      { severity: 'warning' },
      'Publishes are refused for their key (401)',
      'Over 0.05 publish requests a second have been answered 401 for 10 minutes: a backend publishes without a key or with one no node takes (a rotation that dropped it from PUBLISH_API_KEY), and its notifications are not sent. Anyone who can reach /v1/publish can cause it too.',
    )
    await expectPromtoolTestsPass(
      {
        // A backend with a retired key: 6 requests a minute on each of two nodes, from minute 1.
        input_series: [
          refusals('a', 'auth', '0 0+6x20'),
          refusals('b', 'auth', '0 0+6x20'),
          refusals('a', 'bad_request', '0x21'),
        ],
        alert_rule_test: [
          { eval_time: '8m', alertname: 'HeraldPublishesRefused', exp_alerts: [] },
          { eval_time: '18m', alertname: 'HeraldPublishesRefused', exp_alerts: [refused] },
        ],
      },
      {
        // A client sending malformed bodies, 60 a minute.
        input_series: [refusals('a', 'auth', '0x21'), refusals('a', 'bad_request', '0 0+60x20')],
        alert_rule_test: [{ eval_time: '18m', alertname: 'HeraldPublishesRefused', exp_alerts: [] }],
      },
    )
  })

  it('does not raise HeraldPublishesFailing after two minutes of failures are over', async () => {
    const failures = labelledSeries('herald_publish_failures_total', 'code')
    // 60 messages a minute answered 503 from minute 2 to 4 (Redis away for two minutes), then
    // none: with a 5-minute rate window the alert fired at minute 8, four minutes after Redis
    // was back (found by a probe).
    const alertTimes = ['3m', '5m', '7m', '8m', '9m', '12m']
    await expectPromtoolTestsPass({
      input_series: [failures('a', 'broker_unavailable', '0 0 0 60 120x11')],
      alert_rule_test: alertTimes.map((eval_time) => ({
        eval_time,
        alertname: 'HeraldPublishesFailing',
        exp_alerts: [],
      })),
    })
  })

  it('raises HeraldResumeResets for resets that go on, not 15 minutes after one wave of them', async () => {
    const resumes = labelledSeries('herald_resumes_total', 'outcome')
    const resets = expectedAlert(
      { severity: 'warning' },
      'Many resumes cannot be exact',
      "Over 20% of resumes have ended in herald.reset for 15 minutes: history is too short (HISTORY_MAX_LEN) for how long clients are away, or clients send positions the node cannot read (a reset counts malformed and unknown Last-Event-IDs too; the gateway's log says which).",
    )
    await expectPromtoolTestsPass(
      {
        // A Redis restart that lost history: 60 resets over minutes 2 and 3, and 5 exact resumes
        // a minute. With a 15-minute window the alert fired at minute 17, 15 minutes after.
        input_series: [resumes('a', 'reset', '0 0 30 60x27'), resumes('a', 'exact', '0+5x30')],
        alert_rule_test: ['10m', '17m', '20m', '25m'].map((eval_time) => ({
          eval_time,
          alertname: 'HeraldResumeResets',
          exp_alerts: [],
        })),
      },
      {
        // Half of every minute's resumes reset, from minute 1.
        input_series: [resumes('a', 'reset', '0+10x30'), resumes('a', 'exact', '0+10x30')],
        alert_rule_test: [{ eval_time: '25m', alertname: 'HeraldResumeResets', exp_alerts: [resets] }],
      },
    )
  })

  it('raises HeraldEventLoopStalled for a gateway that stopped running for seconds, for 5 minutes', async () => {
    const lagMax = (instance: string, values: string, herald = true) => [
      { series: `nodejs_eventloop_lag_max_seconds{instance="${instance}"}`, values },
      ...(herald ? [{ series: `herald_connections_max{instance="${instance}"}`, values: '19000x15' }] : []),
    ]
    const stalled = expectedAlert(
      { severity: 'warning', instance: 'a' },
      'Herald node a stopped running for 30s',
      "The event loop of a did not run for over 5 s in the last 5 minutes: its streams, heartbeats and publishes waited that long. Look for a paused or starved container, swap, or a stack in the node's log.",
    )
    await expectPromtoolTestsPass({
      // a: stopped for 30 s before the scrape at minute 3; b: through a resume storm (3.5 s);
      // other: not a gateway.
      input_series: [
        ...lagMax('a', '0.1 0.1 0.1 30 0.1x11'),
        ...lagMax('b', '0.1 0.1 0.1 3.5 0.1x11'),
        ...lagMax('other', '0.1 0.1 0.1 30 0.1x11', false),
      ],
      alert_rule_test: [
        { eval_time: '2m', alertname: 'HeraldEventLoopStalled', exp_alerts: [] },
        { eval_time: '3m', alertname: 'HeraldEventLoopStalled', exp_alerts: [stalled] },
        { eval_time: '7m', alertname: 'HeraldEventLoopStalled', exp_alerts: [stalled] },
        { eval_time: '9m', alertname: 'HeraldEventLoopStalled', exp_alerts: [] },
      ],
    })
  })

  it('raises HeraldClientSocketsAtFileLimit for a node that closed sockets to stay within its open-file limit', async () => {
    const closed = labelledSeries('herald_client_sockets_closed_total', 'socket')
    await expectPromtoolTestsPass({
      // a: 40 idle sockets closed at minute 3; b: none.
      input_series: [
        closed('a', 'idle', '0 0 0 40 40 40 40'),
        closed('a', 'newcomer', '0x6'),
        closed('b', 'idle', '0x6'),
        closed('b', 'newcomer', '0x6'),
      ],
      alert_rule_test: [
        {
          eval_time: '4m',
          alertname: 'HeraldClientSocketsAtFileLimit',
          exp_alerts: [
            firing(
              'a',
              'warning',
              'Herald node a is at its open-file limit',
              'Client sockets were closed in the last 5 minutes to keep the node within its open-file limit (idle, stalled or unfinished ones for newcomers, or the newcomers themselves). Look for many connections that send no request, and check the limit (ulimit -n, LimitNOFILE) against MAX_CONNECTIONS.',
            ),
          ],
        },
        { eval_time: '10m', alertname: 'HeraldClientSocketsAtFileLimit', exp_alerts: [] },
      ],
    })
  })

  it('alerts on gateways that cannot be scraped, which export nothing to alert on themselves', async () => {
    // The job the Prometheus Operator gives the targets of k8s/base's ServiceMonitor: the name of
    // the Service it selects (it sets no jobLabel).
    const k8s = new URL('../../../k8s/base/', import.meta.url).pathname
    expect(parse(await readFile(`${k8s}servicemonitor.yaml`, 'utf8')).spec.jobLabel).toBeUndefined()
    const job: string = parse(await readFile(`${k8s}service.yaml`, 'utf8')).metadata.name
    const node = (instance: string, up: string, connections: string) => [
      { series: `up{job="${job}",instance="${instance}"}`, values: up },
      { series: `herald_connections{job="${job}",instance="${instance}"}`, values: connections },
    ]
    const down = (instance: string) =>
      expectedAlert(
        { severity: 'warning', job, instance },
        `Herald node ${instance} cannot be scraped`,
        `Scraping ${instance} has failed for 2 minutes: the gateway is down, hung or not listening. Its streams have moved or are retrying; check the pod.`,
      )
    const absent = expectedAlert(
      { severity: 'critical' },
      'No Herald gateway is reporting',
      "No gateway has reported herald_connections for 2 minutes: all of them are down or cannot be scraped. Browsers get only the proxy's retry hint, and publishes fail.",
    )
    await expectPromtoolTestsPass(
      {
        // Node a stops answering scrapes at minute 3 (its series go stale); b stays up.
        input_series: [...node('a', '1 1 1 0x12', '5 5 5 stale'), ...node('b', '1x15', '5x15')],
        alert_rule_test: [
          { eval_time: '4m', alertname: 'HeraldGatewayDown', exp_alerts: [] },
          { eval_time: '8m', alertname: 'HeraldGatewayDown', exp_alerts: [down('a')] },
          { eval_time: '8m', alertname: 'HeraldGatewaysAbsent', exp_alerts: [] },
        ],
      },
      {
        // Every node stops at minute 2: no herald_* series at all, so nothing else can fire.
        input_series: [...node('a', '1 1 0x12', '5 5 stale'), ...node('b', '1 1 0x12', '5 5 stale')],
        alert_rule_test: [
          { eval_time: '8m', alertname: 'HeraldGatewayDown', exp_alerts: [down('a'), down('b')] },
          { eval_time: '8m', alertname: 'HeraldGatewaysAbsent', exp_alerts: [absent] },
          { eval_time: '8m', alertname: 'HeraldPubSubNotDelivering', exp_alerts: [] },
        ],
      },
    )
  })
})
