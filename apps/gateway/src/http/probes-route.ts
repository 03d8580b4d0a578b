/**
 * Probes: `/healthz` (the process answers), `/readyz` (send it traffic: not
 * draining, broker delivering, below 95% of its connection budget) and
 * `/metrics` (Prometheus text).
 */

import { Hono } from 'hono'
import type { GatewayServices } from './services.js'

/** The share of MAX_CONNECTIONS at which readiness turns off. */
export const NEAR_CAPACITY = 0.95

export function probesRoute(services: GatewayServices): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) => {
    const reasons: string[] = []
    if (services.lifecycle.draining) reasons.push('draining')
    if (!services.broker.isAvailable()) reasons.push('broker_unavailable')
    // Near the budget, stop attracting new streams; the node keeps serving those it has.
    if (services.budget.total >= Math.floor(services.config.maxConnections * NEAR_CAPACITY))
      reasons.push('near_capacity')
    return reasons.length === 0 ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready', reasons }, 503)
  })
  app.get('/metrics', async (c) => {
    const { registry } = services.metrics
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType })
  })
  return app
}
