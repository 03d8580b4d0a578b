/**
 * The naive baseline: SSE the way most tutorials write it. hono's streamSSE, an in-process
 * Map of user to streams, a heartbeat loop per stream, and a POST /publish route. Correct (it
 * removes closed streams and answers bad input with 400), but nothing more: no history, no
 * resume, no auth. PORT (and HEARTBEAT_MS) from the environment; prints `listening <port>`.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'

const HEARTBEAT_MS = Number(process.env['HEARTBEAT_MS'] ?? 15_000)
const streams = new Map<string, Set<SSEStreamingApi>>()
const app = new Hono()

app.get('/events', (c) => {
  const key = c.req.query('topic') ?? c.req.query('user')
  if (key === undefined) return c.text('user or topic required', 400)
  return streamSSE(c, async (stream) => {
    const set = streams.get(key) ?? new Set<SSEStreamingApi>()
    streams.set(key, set)
    set.add(stream)
    let open = true
    stream.onAbort(() => {
      open = false
      set.delete(stream)
      if (set.size === 0) streams.delete(key)
    })
    await stream.writeSSE({ event: 'ready', data: '{}' })
    while (open) {
      await stream.sleep(HEARTBEAT_MS)
      if (open) await stream.writeSSE({ event: 'heartbeat', data: '{}' })
    }
  })
})

let nextId = 0
app.post('/publish', async (c) => {
  const body = await c.req.json<{ user?: string; topic?: string; data?: unknown }>().catch(() => undefined)
  const key = body?.topic ?? body?.user
  if (key === undefined || body?.data === undefined) return c.json({ error: 'user or topic, and data, required' }, 400)
  const id = String(++nextId)
  const data = JSON.stringify(body.data)
  const targets = streams.get(key)
  if (targets !== undefined) await Promise.all([...targets].map((stream) => stream.writeSSE({ data, id })))
  return c.json({ id, delivered: targets?.size ?? 0 })
})

const server = serve({ fetch: app.fetch, port: Number(process.env['PORT'] ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening ${info.port}`)
})
process.on('SIGTERM', () => {
  server.close()
  process.exit(0)
})
