/**
 * Probes: `/healthz` (the process answers), `/readyz` (send it traffic: not
 * draining, broker available) and `/metrics` (Prometheus text).
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
    if (services.budget.total >= services.config.maxConnections) reasons.push('at_capacity')
    return reasons.length === 0 ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready', reasons }, 503)
  })
  app.get('/metrics', async (c) => {
    const { registry } = services.metrics
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType })
  })
  return app
}
