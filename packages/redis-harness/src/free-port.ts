/**
 * Free loopback TCP ports for test servers. A port is picked, bound to check it is free, and
 * released so a server (redis-server, nginx, a gateway) can take it. It is picked below the
 * kernel's ephemeral range: a port from that range can be handed to any outgoing connection
 * (the suite makes thousands) between the check and the server's bind, and the server then
 * fails to start. Below the range only another listener can take it, which is why server
 * start-up still retries with fresh ports when the bind fails.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** The lowest port picked: clear of the well-known and registered services of a dev machine. */
const LOWEST_PORT = 20_000
const ATTEMPTS = 50

/** The first port of the kernel's ephemeral range, or undefined where it cannot be read (not Linux). */
function ephemeralRangeStart(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) ? low : undefined
  } catch {
    return undefined
  }
}

const rangeStart = ephemeralRangeStart()
/**
 * Ports this process has handed out: a released port is free again, so a caller picking several
 * at once (nginx's three listeners) could otherwise be given one twice.
 */
const handedOut = new Set<number>()

/** A free TCP port on 127.0.0.1, below the ephemeral range where there is room for it. */
export async function freePort(): Promise<number> {
  if (rangeStart !== undefined && rangeStart - LOWEST_PORT >= 1_000) {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const port = LOWEST_PORT + Math.floor(Math.random() * (rangeStart - LOWEST_PORT))
      if (handedOut.has(port)) continue
      // Bounded: a long suite starts over, its earlier ports long since bound by their servers or gone.
      if (handedOut.size >= 2_000) handedOut.clear()
      // Taken before the bind is tried, so a call made meanwhile cannot pick it too.
      handedOut.add(port)
      if ((await bindAndRelease(port).catch(() => undefined)) !== undefined) return port
      handedOut.delete(port)
    }
  }
  return bindAndRelease(0)
}

/** Binds 127.0.0.1:port (0: the kernel picks), closes it, and resolves to the port bound. */
function bindAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error(`unexpected listening address: ${String(address)}`))
        return
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)))
    })
  })
}
