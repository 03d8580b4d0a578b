/**
 * Probes: `/healthz` (the process answers), `/readyz` (send it traffic: not
 * draining, broker delivering) and `/metrics` (Prometheus text).
 *
 * Readiness does not follow the connection budget. A load balancer gates all of a
 * node's traffic on it, publishes included: a fleet whose every node is near its
 * budget would lose its publishing path, and with it delivery to every open
 * stream. A full node turns new streams away itself (200 `over_capacity`, or 503
 * to a proxy that asks for it), and the HPA scales on the stream count.
 */

import { Hono } from 'hono'
import type { GatewayServices } from './services.js'

export function probesRoute(services: GatewayServices): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) => {
    const reasons: string[] = []
    if (services.lifecycle.draining) reasons.push('draining')
    if (!services.broker.isAvailable()) reasons.push('broker_unavailable')
    return reasons.length === 0 ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready', reasons }, 503)
  })
  app.get('/metrics', async (c) => {
    const { registry } = services.metrics
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType })
  })
  return app
}
