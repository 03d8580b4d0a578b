/**
 * A TCP proxy in front of a Redis server that can close a connection instead of passing on a
 * publish's reply: Redis ran the publish, and its caller cannot know. Several proxies (one per
 * Cluster node) may share one `arm` so that whichever carries the next publish drops it.
 */

import { type AddressInfo, createConnection, createServer, type Server } from 'node:net'

/** A reply to a herald_publish_batch call: an array of entry ids. */
const PUBLISH_REPLY = /^\*\d+\r\n\$\d+\r\n\d+-\d+\r\n/

/** A WAIT command on its way to Redis, sent after the calls it confirms were answered. */
const WAIT_COMMAND = /^\*3\r\n\$4\r\nWAIT\r\n/i

/** Whether the next publish's reply is dropped; cleared by the proxy that drops it. */
export interface DropSwitch {
  armed: boolean
}

export interface ReplyDroppingProxy {
  readonly port: number
  close(): void
}

/**
 * Drops the connection at a publish's reply (`reply`), or at the `WAIT` that follows it
 * (`wait`: Redis ran the publish and answered it, and the WAIT never reaches Redis).
 */
export async function replyDroppingProxy(
  redisPort: number,
  drop: DropSwitch,
  at: 'reply' | 'wait' = 'reply',
): Promise<ReplyDroppingProxy> {
  const proxy: Server = createServer((client) => {
    const server = createConnection(redisPort, '127.0.0.1')
    client.on('error', () => {})
    server.on('error', () => {})
    client.on('data', (chunk) => {
      if (at !== 'wait' || !drop.armed || !WAIT_COMMAND.test(chunk.toString('latin1', 0, 64)))
        return void server.write(chunk)
      drop.armed = false
      client.destroy()
    })
    server.on('data', (chunk) => {
      if (at !== 'reply' || !drop.armed || !PUBLISH_REPLY.test(chunk.toString('latin1', 0, 64)))
        return void client.write(chunk)
      drop.armed = false
      client.destroy()
    })
    client.on('close', () => server.destroy())
    server.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  return { port: (proxy.address() as AddressInfo).port, close: () => proxy.close() }
}
