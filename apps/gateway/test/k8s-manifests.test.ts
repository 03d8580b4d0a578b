import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { type ParsedEvent, SseParser } from '@herald/protocol'
import { parseRedisTarget } from '@herald/publisher/internal'
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { ConfigProblems, loadConfig } from '../src/config/config.js'
import { unsentBudgetProblem } from '../src/config/heap-budget.js'
import { startNginxSite } from './nginx.js'
import { REGISTRY_NODE_VERSIONS } from './registry-node.js'

const run = promisify(execFile)
const K8S = new URL('../../../k8s/', import.meta.url).pathname

/** The models that validate each kind against the Kubernetes (and Prometheus Operator) schemas, offline. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
}

async function build(path: string): Promise<any[]> {
  return buildDir(`${K8S}${path}`)
}

async function buildDir(dir: string): Promise<any[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir])
  const objects = parseAllDocuments(stdout).map((document) => document.toJS())
  // kustomize wraps a generated Secret's long base64 values over lines, which the API server
  // decodes as one (Go's base64 skips newlines) and the schema's "byte" format does not.
  for (const object of objects)
    if (object.kind === 'Secret')
      for (const [name, value] of Object.entries(object.data ?? {}))
        object.data[name] = String(value).replace(/\s/g, '')
  return objects
}

/** Streams docs/capacity.md plans for (1M concurrent users open about 1.3M streams). */
const PLANNED_STREAMS = 1_300_000
/** The HPA target stays at most this share of a pod's budget: the rest is room for the streams of a lost pod. */
const HPA_MAX_SHARE_OF_BUDGET = 0.75

/** The TCP ports the gateway connects to for this REDIS_URL. */
function redisPorts(redisUrl: string): number[] {
  const target = parseRedisTarget(redisUrl)
  if (typeof target === 'string') throw new Error(target)
  if (target.kind === 'standalone') return [Number(new URL(target.url).port || 6379)]
  // Sentinel hands out the master's address; the base's hosts use the default port 6379.
  if (target.kind === 'sentinel') return [...target.sentinels.map((s) => s.port), 6379]
  return target.nodes.map((node) => node.port)
}

/** Whether some egress rule of the policy lets TCP out to `port` (to any destination). */
const egressOpens = (policy: any, port: number) =>
  policy.spec.egress.some((rule: any) =>
    (rule.ports ?? []).some(
      (p: any) => (p.protocol ?? 'TCP') === 'TCP' && p.port <= port && port <= (p.endPort ?? p.port),
    ),
  )

/** The gateway's object of a kind (a build may also hold the edge's Deployment, Service, …). */
const GATEWAY_NAMES: Record<string, string> = { ConfigMap: 'herald-config', Secret: 'herald-secrets' }
const byKind = (objects: any[], kind: string) =>
  byName(objects, kind, GATEWAY_NAMES[kind] ?? 'herald-gateway') ?? objects.find((o) => o.kind === kind)
/** The object of that kind and name, or of the name a kustomize generator gave it (`<name>-<hash>`). */
const byName = (objects: any[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name) ??
  objects.find((o) => o.kind === kind && new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name))

/** Whether a label selector's matchLabels (or a Service's plain selector) selects pods labelled `labels`. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value)

/** The environment the gateway container gets: ConfigMap, then Secret, then the Deployment's own env. */
function containerEnv(objects: any[]): Record<string, string> {
  const container = byKind(objects, 'Deployment').spec.template.spec.containers[0]
  const secret = byKind(objects, 'Secret')
  const decoded = Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([name, value]) => [name, Buffer.from(String(value), 'base64').toString()]),
  )
  return {
    ...byKind(objects, 'ConfigMap').data,
    ...decoded,
    ...secret.stringData,
    ...Object.fromEntries(container.env.map((e: any) => [e.name, e.value])),
  }
}

const MiB = 1024 * 1024

/** A Kubernetes memory quantity in Mi or Gi, in bytes. */
function memoryBytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity)
  if (match === null) throw new Error(`a memory quantity in Mi or Gi, not ${quantity}`)
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 * MiB : MiB)
}

/** Values for the two secret placeholders the manifests ship, which the gateway refuses as they are. */
const FILLED_SECRETS = { JWT_SECRET: 'a'.repeat(32), PUBLISH_API_KEY: 'b'.repeat(16) }

/** A Kubernetes CPU quantity ("1", "500m", "0.5") in cores. */
function cpuCores(quantity: string | number): number {
  const text = String(quantity)
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text)
}

describe.each(['base', 'overlays/example'])('k8s/%s', (path) => {
  it('builds with kustomize and validates against the schemas', async () => {
    const objects = await build(path)
    expect(objects.map((o) => o.kind).sort()).toEqual(
      expect.arrayContaining([
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Secret',
        'Service',
        'ServiceMonitor',
      ]),
    )
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`]
      expect(Model, `${object.apiVersion} ${object.kind}`).toBeDefined()
      expect(() => new Model!(object).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow()
    }
  })

  it('rolls the pods when a configuration or secret value changes: the pod template names the new contents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-k8s-'))
    try {
      const envFrom = (objects: any[]) =>
        byKind(objects, 'Deployment').spec.template.spec.containers[0].envFrom.map(
          (source: any) => (source.configMapRef ?? source.secretRef).name,
        )
      const names = (objects: any[]) =>
        [byKind(objects, 'ConfigMap'), byKind(objects, 'Secret')].map((o) => o.metadata.name)
      const shipped = await build(path)
      expect(envFrom(shipped)).toEqual(names(shipped))
      const changed = async (kind: string, name: string, literal: string) => {
        await writeFile(
          join(dir, 'kustomization.yaml'),
          `resources:\n  - ${relative(dir, K8S + path)}\n${kind}:\n  - name: ${name}\n    behavior: merge\n    literals:\n      - ${literal}\n`,
        )
        return buildDir(dir)
      }
      const [configChanged, secretChanged] = [
        await changed('configMapGenerator', 'herald-config', 'DRAIN_WINDOW_MS=25000'),
        await changed('secretGenerator', 'herald-secrets', 'PUBLISH_API_KEY=rotated-key-0123456789'),
      ]
      expect(containerEnv(configChanged)['DRAIN_WINDOW_MS']).toBe('25000')
      expect(containerEnv(secretChanged)['PUBLISH_API_KEY']).toBe('rotated-key-0123456789')
      for (const [objects, index] of [
        [configChanged, 0],
        [secretChanged, 1],
      ] as const) {
        expect(envFrom(objects)).toEqual(names(objects))
        expect(envFrom(objects)[index]).not.toBe(envFrom(shipped)[index])
        expect(envFrom(objects)[1 - index]).toBe(envFrom(shipped)[1 - index])
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('runs the gateway safely and drains within the grace period', async () => {
    const objects = await build(path)
    const deployment = byKind(objects, 'Deployment')
    const pod = deployment.spec.template.spec
    const container = pod.containers[0]
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
    // The gateway never calls the Kubernetes API: a mounted service-account token could only leak.
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    })
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
    expect(container.resources.requests).toBeDefined()
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1])
    const config = byKind(objects, 'ConfigMap').data
    const drainMs = Number(config.DRAIN_WINDOW_MS)
    // Then a publish in flight gets its answer: 3 s of publish deadline, the replicas' wait, 1 s of grace.
    const lastPublishMs = 3_000 + Number(config.PUBLISH_WAIT_TIMEOUT_MS ?? 0) + 1_000
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopSeconds * 1000 + drainMs + lastPublishMs)
    // Heartbeats must arrive well within the nginx read timeout of 60 s.
    expect(Number(byKind(objects, 'ConfigMap').data.HEARTBEAT_INTERVAL_MS)).toBeLessThan(60_000)
  })

  it('gives each pod one core and an explicit connection budget, which the HPA stays below', async () => {
    const objects = await build(path)
    const container = byKind(objects, 'Deployment').spec.template.spec.containers[0]
    // The open-file limit a node would budget from is the container runtime's, not ours: set it.
    const env = new Map<string, string>(container.env.map((e: any) => [e.name, e.value]))
    const maxConnections = Number(env.get('MAX_CONNECTIONS'))
    expect(Number.isSafeInteger(maxConnections) && maxConnections > 0, String(env.get('MAX_CONNECTIONS'))).toBe(true)
    // A node is one process on one core (README, Deploying): at most one CPU per pod.
    expect(cpuCores(container.resources.limits.cpu)).toBe(1)
    expect(cpuCores(container.resources.requests.cpu)).toBeLessThanOrEqual(1)
    // The HPA adds pods while nodes still have room for the streams of a lost pod.
    const hpa = byKind(objects, 'HorizontalPodAutoscaler')
    const perPod = Number(hpa.spec.metrics.find((m: any) => m.type === 'Pods').pods.target.averageValue)
    expect(perPod).toBeLessThan(maxConnections * HPA_MAX_SHARE_OF_BUDGET)
  })

  it('gives the heap half the memory limit at most, and a MAX_UNSENT_BYTES the heap can hold', async () => {
    const objects = await build(path)
    const container = byKind(objects, 'Deployment').spec.template.spec.containers[0]
    const env = containerEnv(objects)
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(env['NODE_OPTIONS'] ?? '')?.[1])
    expect(heapMiB, String(env['NODE_OPTIONS'])).toBeGreaterThan(0)
    expect(heapMiB * MiB).toBeLessThanOrEqual(memoryBytes(container.resources.limits.memory) / 2)
    // The young generation comes on top of the old space's limit: the limit alone is the safe side.
    const heapSizeLimit = heapMiB * MiB
    const runtime = await imageRuntime()
    const filled = { ...env, ...FILLED_SECRETS }
    const config = loadConfig({ env: filled, argv: [], openFileLimit: 1_048_576, runtime, heapSizeLimit })
    expect(unsentBudgetProblem(config.maxUnsentBytes, heapSizeLimit)).toBeUndefined()
  })

  it('scales on connections per pod and CPU, and selects the pods it deploys', async () => {
    const objects = await build(path)
    const hpa = byKind(objects, 'HorizontalPodAutoscaler')
    // The HPA owns the count: one in the Deployment would reset the fleet on every apply.
    expect(byKind(objects, 'Deployment').spec.replicas).toBeUndefined()
    // A fleet unready for an outage can still be drained off its nodes.
    expect(byKind(objects, 'PodDisruptionBudget').spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow')
    expect(hpa.spec.metrics.map((m: any) => m.pods?.metric.name ?? m.resource?.name)).toEqual([
      'herald_connections',
      'cpu',
    ])
    const podLabels = byKind(objects, 'Deployment').spec.template.metadata.labels
    for (const kind of ['Service', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor']) {
      const object = byKind(objects, kind)
      const selector = object.spec.selector?.matchLabels ?? object.spec.selector ?? object.spec.podSelector.matchLabels
      expect(podLabels, kind).toMatchObject(selector)
    }
    expect(byKind(objects, 'ServiceMonitor').spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' })
  })

  it('lets the HPA grow the fleet to the streams docs/capacity.md plans for', async () => {
    const hpa = byKind(await build(path), 'HorizontalPodAutoscaler')
    const perPod = Number(hpa.spec.metrics.find((m: any) => m.type === 'Pods').pods.target.averageValue)
    expect(hpa.spec.maxReplicas * perPod).toBeGreaterThanOrEqual(PLANNED_STREAMS)
  })

  it('opens egress to every Redis port its REDIS_URL names', async () => {
    const objects = await build(path)
    const policy = byKind(objects, 'NetworkPolicy')
    for (const port of redisPorts(containerEnv(objects)['REDIS_URL']!))
      expect(egressOpens(policy, port), String(port)).toBe(true)
  })

  it("ships secret placeholders the gateway refuses, and otherwise a configuration it takes on the image's Node.js", async () => {
    const env = containerEnv(await build(path))
    const runtime = await imageRuntime()
    // Applied as is, the gateway must not start with a key anyone can read here.
    let thrown: unknown
    try {
      loadConfig({ env, argv: [], openFileLimit: 1_048_576, runtime })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigProblems)
    const variables = (thrown as ConfigProblems).problems.map((problem) => problem.variable).sort()
    expect(variables).toEqual(['JWT_SECRET', 'PUBLISH_API_KEY'])
    // With the two filled in, everything else in the manifests is valid configuration.
    const filled = { ...env, ...FILLED_SECRETS }
    const config = loadConfig({ env: filled, argv: [], openFileLimit: 1_048_576, runtime })
    // And none of it is a misspelling the gateway would ignore.
    expect(config.misspelt).toEqual([])
  })
})

describe('apps/gateway/Dockerfile', () => {
  it("installs the pnpm of package.json's packageManager, not whatever 10.x is newest", async () => {
    const dockerfile = await readFile(new URL('../Dockerfile', import.meta.url), 'utf8')
    const rootPackage = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'))
    const installed = [...dockerfile.matchAll(/npm install -g (pnpm@\S+)/g)].map((match) => match[1])
    expect(installed).toEqual([rootPackage.packageManager])
  })

  it('builds and runs on one pinned Node.js, a release the suites run on (node-majors.test.ts)', async () => {
    const versions = await imageNodeVersions()
    expect(versions).toHaveLength(2)
    expect(new Set(versions).size).toBe(1)
    expect(REGISTRY_NODE_VERSIONS).toContain(versions[0])
  })
})

/** The Node.js version each `FROM node:<version>-…` line of the Dockerfile names, in order. */
async function imageNodeVersions(): Promise<string[]> {
  const dockerfile = await readFile(new URL('../Dockerfile', import.meta.url), 'utf8')
  return [...dockerfile.matchAll(/^FROM node:(\S+?)-\S+/gm)].map((match) => match[1]!)
}

/** The runtime the shipped image gives the gateway, from the Dockerfile's last `FROM`. */
async function imageRuntime(): Promise<{ nodeVersion: string; platform: string }> {
  const version = (await imageNodeVersions()).at(-1)
  if (version === undefined) throw new Error('no FROM node:<version>-… line in apps/gateway/Dockerfile')
  return { nodeVersion: `v${version}`, platform: 'linux' }
}

const INGRESS_NGINX = 'nginx.ingress.kubernetes.io/'

describe('k8s/base NetworkPolicy', () => {
  it('admits the ingress controller, Prometheus and publishers from labelled namespaces, on the HTTP port only', async () => {
    const policy = byKind(await build('base'), 'NetworkPolicy')
    const port = Number(byKind(await build('base'), 'ConfigMap').data.PORT)
    expect(policy.spec.ingress).toHaveLength(1)
    const [rule] = policy.spec.ingress
    expect(rule.ports).toEqual([{ port, protocol: 'TCP' }])
    expect(rule.from.map((peer: any) => peer.namespaceSelector.matchLabels)).toEqual([
      { 'kubernetes.io/metadata.name': 'ingress-nginx' },
      { 'kubernetes.io/metadata.name': 'monitoring' },
      { 'herald/publisher': 'true' },
    ])
  })
})

describe("k8s/README.md's NetworkPolicy patch for a Redis Cluster", () => {
  it('opens every port of a redis+cluster:// REDIS_URL on 7000-7005, which the base does not', async () => {
    const readme = await readFile(`${K8S}README.md`, 'utf8')
    const patch = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('endPort'))
    expect(patch, 'the README shows the patch').toBeDefined()
    const dir = await mkdtemp(join(tmpdir(), 'herald-k8s-'))
    try {
      // kustomize takes only relative paths to other kustomizations.
      const overlay = relative(dir, `${K8S}overlays/example`)
      const redisUrl = 'redis+cluster://redis-0.redis:7000,redis-1.redis:7001,redis-5.redis:7005'
      await writeFile(
        join(dir, 'kustomization.yaml'),
        `resources:\n  - ${overlay}\nsecretGenerator:\n  - name: herald-secrets\n    behavior: merge\n    literals:\n      - REDIS_URL=${redisUrl}\n${patch}`,
      )
      const objects = await buildDir(dir)
      expect(containerEnv(objects)['REDIS_URL']).toBe(redisUrl)
      const patched = byKind(objects, 'NetworkPolicy')
      const unpatched = byKind(await build('overlays/example'), 'NetworkPolicy')
      for (const port of redisPorts(redisUrl)) {
        expect(egressOpens(patched, port), String(port)).toBe(true)
        expect(egressOpens(unpatched, port), String(port)).toBe(false)
      }
      // DNS and HTTPS (the JWKS) stay open.
      for (const port of [53, 443]) expect(egressOpens(patched, port)).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('k8s/ingress-nginx: the edge, with a fallback for streams no gateway pod can take', () => {
  it('builds with kustomize on its own and validates against the schemas', async () => {
    const objects = await build('ingress-nginx')
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Ingress',
      'Ingress',
      'NetworkPolicy',
      'Service',
    ])
    for (const object of objects)
      expect(() => new MODELS[`${object.apiVersion}/${object.kind}`]!(object).validate()).not.toThrow()
  })

  it('sends the edge its own 500/502/503/504 on /v1/events to the fallback, and publish errors through', async () => {
    // Redis down: every pod's /readyz fails, all leave the Service at once, and ingress-nginx
    // would answer the stream 503, which ends a native EventSource for good.
    const objects = await build('overlays/example')
    const gatewayService = byKind(objects, 'Service')
    const events = byName(objects, 'Ingress', 'herald-events')
    const annotations = events.metadata.annotations
    expect(annotations[`${INGRESS_NGINX}custom-http-errors`].split(',').sort()).toEqual(['500', '502', '503', '504'])
    expect(annotations[`${INGRESS_NGINX}proxy-buffering`]).toBe('off')
    // No body on a stream request, as in herald.conf: refused past 1 KiB, never spooled.
    expect([
      annotations[`${INGRESS_NGINX}proxy-body-size`],
      annotations[`${INGRESS_NGINX}client-body-buffer-size`],
    ]).toEqual(['1k', '1k'])
    const heartbeatMs = Number(byKind(objects, 'ConfigMap').data.HEARTBEAT_INTERVAL_MS)
    expect(Number(annotations[`${INGRESS_NGINX}proxy-read-timeout`]) * 1000).toBeGreaterThan(heartbeatMs)
    expect(events.spec.rules[0].http.paths).toEqual([
      {
        path: '/v1/events',
        pathType: 'Exact',
        backend: { service: { name: gatewayService.metadata.name, port: { name: 'http' } } },
      },
    ])

    // default-backend names a Service of this build that selects the fallback's pods, and
    // none of the gateway's selectors take those pods.
    const fallbackService = byName(objects, 'Service', annotations[`${INGRESS_NGINX}default-backend`])
    expect(fallbackService, 'the default-backend Service').toBeDefined()
    const fallback = objects.filter(
      (o) => o.kind === 'Deployment' && selects(fallbackService.spec.selector, o.spec.template.metadata.labels),
    )
    expect(fallback.map((o) => o.metadata.name)).toEqual(['herald-edge-fallback'])
    const fallbackPods = fallback[0].spec.template.metadata.labels
    expect(selects(fallbackService.spec.selector, byKind(objects, 'Deployment').spec.template.metadata.labels)).toBe(
      false,
    )
    for (const kind of ['Service', 'PodDisruptionBudget', 'NetworkPolicy']) {
      const object = byKind(objects, kind)
      expect(
        selects(
          object.spec.selector?.matchLabels ?? object.spec.selector ?? object.spec.podSelector.matchLabels,
          fallbackPods,
        ),
        kind,
      ).toBe(false)
    }

    // Publishing goes to the gateways with no error interception: their JSON errors pass, and
    // only a publish no ready pod can take goes to the fallback. Nothing else is public: not
    // /metrics, not the probes.
    const rest = byName(objects, 'Ingress', 'herald')
    expect(rest.metadata.annotations?.[`${INGRESS_NGINX}custom-http-errors`]).toBeUndefined()
    expect(rest.metadata.annotations[`${INGRESS_NGINX}default-backend`]).toBe(fallbackService.metadata.name)
    expect(rest.spec.rules[0].http.paths.map((p: any) => [p.path, p.pathType])).toEqual([['/v1/publish', 'Exact']])
    expect(rest.spec.rules[0].host).toBe(events.spec.rules[0].host)
  })

  it("the fallback's shipped config answers a stream 200 with a retry hint, however ingress-nginx sends it", async () => {
    const objects = await build('overlays/example')
    const deployment = byName(objects, 'Deployment', 'herald-edge-fallback')
    const container = deployment.spec.template.spec.containers[0]
    const configMapName = deployment.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name
    const site = byName(objects, 'ConfigMap', configMapName).data['fallback.conf']
    const server = await startNginxSite(site, String(container.ports[0].containerPort))
    try {
      // With no ready endpoints, ingress-nginx proxies the request itself to the default
      // backend; for a 502/503/504 it sends `/` with the original URI and status in headers.
      const requests: Array<[string, Record<string, string>]> = [
        ['/v1/events?topics=news', { origin: 'https://app.example' }],
        ['/', { 'x-code': '503', 'x-original-uri': '/v1/events', 'x-format': 'text/event-stream' }],
      ]
      for (const [path, headers] of requests) {
        const response = await fetch(`${server.url}${path}`, { headers })
        expect(response.status, path).toBe(200)
        expect(response.headers.get('content-type')).toBe('text/event-stream')
        expect(response.headers.get('cache-control')).toBe('no-cache')
        // Readable from the page's origin: it carries no one's data.
        expect(response.headers.get('access-control-allow-origin')).toBe(headers['origin'] ?? null)
        const events: ParsedEvent[] = []
        const retries: number[] = []
        const parser = new SseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) })
        parser.push(await response.text())
        expect(events.map((e) => e.type)).toEqual(['herald.unavailable'])
        const data = JSON.parse(events[0]!.data)
        expect(data.reason).toBe('broker_unavailable')
        expect(retries).toEqual([data.retryMs])
        expect(data.retryMs).toBeGreaterThanOrEqual(3000)
        // The same delay in whole seconds, rounded up, as a gateway's answer has it.
        expect(response.headers.get('retry-after')).toBe(String(Math.ceil(data.retryMs / 1000)))
      }
      // A publish reaches it only when no gateway pod is ready: the gateways' own JSON 503.
      const publish = await fetch(`${server.url}/v1/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'u1', data: 1 }),
      })
      expect(publish.status).toBe(503)
      expect(publish.headers.get('content-type')).toBe('application/json')
      expect(publish.headers.get('retry-after')).toBe('5')
      expect(((await publish.json()) as { error: { code: string } }).error.code).toBe('HERALD_ERR_BROKER_UNAVAILABLE')

      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
      expect(container.readinessProbe.httpGet.path).toBe('/healthz')
    } finally {
      await server.stop()
    }
  })

  it('runs the fallback as one nginx worker a pod, its count owned by an HPA on CPU', async () => {
    // The image's `worker_processes auto` counts the node's CPUs, not the pod's limit.
    const objects = await build('overlays/example')
    const deployment = byName(objects, 'Deployment', 'herald-edge-fallback')
    const container = deployment.spec.template.spec.containers[0]
    expect(deployment.spec.replicas).toBeUndefined()
    expect(cpuCores(container.resources.limits.cpu)).toBe(1)
    const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, m.subPath]))
    expect(mounts['/etc/nginx/nginx.conf']).toBe('fallback-nginx.conf')
    expect(mounts['/etc/nginx/conf.d/fallback.conf']).toBe('fallback.conf')
    const configMapName = deployment.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name
    const main: string = byName(objects, 'ConfigMap', configMapName).data['fallback-nginx.conf']
    expect(main).toMatch(/^worker_processes 1;$/m)
    // nginx takes it, with the site where the Deployment mounts it.
    const dir = await mkdtemp(join(tmpdir(), 'herald-fallback-'))
    try {
      const site = byName(objects, 'ConfigMap', configMapName).data['fallback.conf']
      await writeFile(join(dir, 'fallback.conf'), site)
      await writeFile(
        join(dir, 'nginx.conf'),
        main.replaceAll('/tmp/', `${dir}/`).replace('/etc/nginx/conf.d/fallback.conf', join(dir, 'fallback.conf')),
      )
      await run('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    const hpa = byName(objects, 'HorizontalPodAutoscaler', 'herald-edge-fallback')
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'herald-edge-fallback' })
    expect(hpa.spec.metrics.map((m: any) => m.resource.name)).toEqual(['cpu'])
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
  })
})
