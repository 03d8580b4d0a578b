/**
 * The node's listening sockets: one, or with LISTEN_SOCKETS above 1 that many sharing one port
 * through SO_REUSEPORT, each with its own accept queue.
 *
 * Why more than one: libuv (1.45 and later, so every supported Node.js) accepts one connection
 * each time a listening socket polls readable. A node busy with a reconnect storm runs long
 * event-loop turns, so it takes about one connection per turn while thousands wait; the accept
 * queue (somaxconn, 4096 by default) fills, the kernel drops further SYNs, and their clients
 * send them again only after 1, 3 and 7 s. Each socket of a SO_REUSEPORT group gets its own
 * queue and its own readiness, so N sockets take N connections a turn and queue N times as many.
 * `reusePort` needs Node.js 22.12+ or 23.1+ on a platform with SO_REUSEPORT (config/reuse-port.ts;
 * config.ts refuses more than one socket elsewhere).
 */

import type { Server } from 'node:http'
import type { AddressInfo, ListenOptions } from 'node:net'

/** Large enough for reconnect storms; the kernel caps it at somaxconn. */
const LISTEN_BACKLOG = 4096

/**
 * Listens on `port` (0: any free one) with every server, one socket each: the first binds the
 * port, the rest join it. One server listens as always, without SO_REUSEPORT, so a port already
 * held fails with EADDRINUSE. If any fails, those already listening are closed and it rejects.
 */
export async function listenOnPort(
  servers: readonly Server[],
  target: { readonly port: number; readonly host: string },
): Promise<AddressInfo> {
  let port = target.port
  const listening: Server[] = []
  try {
    for (const server of servers) {
      // `reusePort` is not in @types/node 20; Node.js before 22.12 would ignore it.
      const options: ListenOptions & { reusePort?: boolean } = { port, host: target.host, backlog: LISTEN_BACKLOG }
      if (servers.length > 1) options.reusePort = true
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(options, () => {
          server.off('error', reject)
          resolve()
        })
      })
      listening.push(server)
      port = (server.address() as AddressInfo).port
    }
  } catch (error) {
    for (const server of listening) server.close()
    throw error
  }
  return servers[0]!.address() as AddressInfo
}
