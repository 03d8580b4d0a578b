import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { NEAR_CAPACITY } from '../src/http/probes-route.js'

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
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
}

async function build(path: string): Promise<any[]> {
  const { stdout } = await run('kubectl', ['kustomize', `${K8S}${path}`])
  return parseAllDocuments(stdout).map((document) => document.toJS())
}

const byKind = (objects: any[], kind: string) => objects.find((o) => o.kind === kind)

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

  it('runs the gateway safely and drains within the grace period', async () => {
    const objects = await build(path)
    const deployment = byKind(objects, 'Deployment')
    const pod = deployment.spec.template.spec
    const container = pod.containers[0]
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    })
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
    expect(container.resources.requests).toBeDefined()
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1])
    const drainMs = Number(byKind(objects, 'ConfigMap').data.DRAIN_WINDOW_MS)
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopSeconds * 1000 + drainMs)
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
    // The HPA adds pods before nodes turn unready near their budget.
    const hpa = byKind(objects, 'HorizontalPodAutoscaler')
    const perPod = Number(hpa.spec.metrics.find((m: any) => m.type === 'Pods').pods.target.averageValue)
    expect(perPod).toBeLessThan(maxConnections * NEAR_CAPACITY)
  })

  it('scales on connections per pod and CPU, and selects the pods it deploys', async () => {
    const objects = await build(path)
    const hpa = byKind(objects, 'HorizontalPodAutoscaler')
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
})
