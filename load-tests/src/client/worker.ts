/**
 * A load worker process: holds up to ~18k SSE streams for the coordinator, spread over its own
 * 127.0.0.x source addresses (argv), and answers the commands of messages.ts over IPC.
 */
import { Histogram } from '../harness/histogram.js'
import { BenchConnection, type ConnectionContext } from './bench-connection.js'
import type { Command, OpenCommand, Reply, Verdict } from './messages.js'
import { SourceEndpoints } from './source-endpoints.js'

/** Handshakes in flight at once: more only overflows the server's accept queue. */
const MAX_PENDING = 512

const sourceAddresses = process.argv.slice(2)
if (sourceAddresses.length === 0) throw new Error('worker: give its source addresses as arguments')
const sourceEndpoints = new SourceEndpoints(sourceAddresses)
const connections: BenchConnection[] = []
const latency = new Histogram()
const counters = { received: 0, reconnects: 0, shed: 0, heartbeats: 0 }
let failed = 0
/** Connections of the current `open` whose first handshake has not settled yet. */
const pending = new Set<BenchConnection>()
let onSettled: (() => void) | undefined

function reply(message: Reply): void {
  process.send?.(message)
}

function context(command: OpenCommand): ConnectionContext {
  return {
    host: command.host,
    port: command.port,
    readyEvent: command.readyEvent,
    sourceEndpoints,
    latency,
    counters,
    onSettled(connection, live) {
      if (!pending.delete(connection)) return
      if (!live) failed++
      onSettled?.()
    },
  }
}

/** Starts the streams at the given rate, never more than MAX_PENDING handshakes at once. */
async function open(command: OpenCommand & { id: number }): Promise<void> {
  const shared = context(command)
  const fresh = command.subscriptions.map((subscription) => new BenchConnection(subscription, shared))
  connections.push(...fresh)
  const started = performance.now()
  const deadline = started + command.timeoutMs
  let index = 0
  await new Promise<void>((resolve) => {
    const pump = () => {
      const allowed = Math.min(
        fresh.length,
        Math.floor(((performance.now() - started) / 1000) * command.ratePerSecond) + 1,
      )
      while (index < allowed && pending.size < MAX_PENDING) {
        const connection = fresh[index++]!
        pending.add(connection)
        connection.connect()
      }
      if ((index === fresh.length && pending.size === 0) || performance.now() > deadline) {
        pending.clear()
        onSettled = undefined
        clearInterval(timer)
        resolve()
      }
    }
    onSettled = pump
    const timer = setInterval(pump, 5)
    pump()
  })
  reply({ id: command.id, type: 'opened', live: fresh.filter((c) => c.live).length, failed })
}

function verify(published: Readonly<Record<string, number>>): Verdict {
  let lost = 0
  let duplicates = 0
  let outOfOrder = 0
  for (const connection of connections) {
    const expected = published[connection.subscription.key] ?? 0
    lost += connection.gaps + Math.max(0, expected - connection.next)
    duplicates += connection.duplicates + Math.max(0, connection.next - expected)
    outOfOrder += connection.outOfOrder
  }
  return { lost, duplicates, outOfOrder }
}

process.on('message', (command: Command) => {
  switch (command.type) {
    case 'open':
      void open(command)
      return
    case 'record':
      latency.reset()
      counters.received = 0
      counters.heartbeats = 0
      return reply({ id: command.id, type: 'ok' })
    case 'stats':
      return reply({
        id: command.id,
        type: 'stats',
        stats: {
          live: connections.reduce((n, c) => n + (c.live ? 1 : 0), 0),
          received: counters.received,
          reconnects: counters.reconnects,
          shed: counters.shed,
          heartbeats: counters.heartbeats,
          failed,
          latency: latency.toSparse(),
        },
      })
    case 'verify':
      return reply({ id: command.id, type: 'verdict', verdict: verify(command.published) })
    case 'drop':
      for (const connection of connections) connection.drop()
      return reply({ id: command.id, type: 'ok' })
    case 'reconnect':
      for (const connection of connections) {
        if (command.fraction >= 1 || Math.random() < command.fraction) {
          connection.drop()
          connection.connect()
        }
      }
      return reply({ id: command.id, type: 'ok' })
    case 'exit':
      for (const connection of connections) connection.drop()
      reply({ id: command.id, type: 'ok' })
      process.disconnect?.()
      setTimeout(() => process.exit(0), 50)
      return
  }
})
// The coordinator died: never outlive it.
process.on('disconnect', () => process.exit(0))
