/**
 * Waiting for a server that says nothing when it is ready (nginx, a gateway started with its
 * logs off): a bounded loop of connection attempts to its loopback port finds out.
 */
import net from 'node:net'

/**
 * Resolves once 127.0.0.1:port accepts a connection. `signal` ends the wait early (its reason is
 * the rejection), as when the server's process exits: waiting out the timeout would only hide why.
 */
export async function untilAccepting(port: number, timeoutMs = 15_000, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    signal?.throwIfAborted()
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (connected) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  signal?.throwIfAborted()
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
}
