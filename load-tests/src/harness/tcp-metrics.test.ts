import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { flushLoopbackTcpMetrics } from '../../dist/src/harness/tcp-metrics.js'

const CLIENT = '127.0.9.9'
const cached = () => spawnSync('ip', ['tcp_metrics', 'show', CLIENT], { encoding: 'utf8' }).stdout.trim()

describe('flushLoopbackTcpMetrics', () => {
  it('forgets the RTT the kernel cached for a loopback peer', async () => {
    const server = net.createServer((socket) => socket.end('hello'))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as net.AddressInfo
    const client = net.connect({ host: '127.0.0.1', port, localAddress: CLIENT })
    client.resume()
    client.write('hi')
    await once(client, 'close')
    server.close()
    // Both ends save their metrics as the connection closes: the server's entry is keyed by the client's address.
    expect(cached()).toContain(CLIENT)
    flushLoopbackTcpMetrics()
    expect(cached()).toBe('')
  })
})
