/**
 * Free loopback TCP ports. The kernel picks an unused port when we bind port 0; we read it and
 * release it so a redis-server can take it. Another process could grab it in between, which is
 * why server start-up retries with fresh ports when the bind fails.
 */
import { createServer } from 'node:net'

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
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
