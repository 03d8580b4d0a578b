import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { listenOnPort } from './listen-sockets.js'

describe('listenOnPort', () => {
  const servers: Server[] = []
  afterEach(() => {
    for (const server of servers.splice(0)) if (server.listening) server.close()
  })
  const server = () => {
    const created = createServer()
    servers.push(created)
    return created
  }

  it('listens with one server on the port asked for, and answers with the address bound', async () => {
    const only = server()
    const bound = await listenOnPort([only], { port: 0, host: '127.0.0.1' })
    expect(only.listening).toBe(true)
    expect(bound).toEqual(only.address())
    expect(bound.port).toBeGreaterThan(0)
  })

  it('closes the servers already listening when a later one cannot, so the port is free again', async () => {
    const busy = server()
    busy.listen(0, '127.0.0.1')
    await once(busy, 'listening')
    const first = server()
    let firstPort = 0
    first.once('listening', () => {
      firstPort = (first.address() as AddressInfo).port
    })
    // The second is listening already: its listen throws, after the first has bound the port.
    const failure = await listenOnPort([first, busy], { port: 0, host: '127.0.0.1' }).catch((error: unknown) => error)
    expect((failure as NodeJS.ErrnoException).code).toBe('ERR_SERVER_ALREADY_LISTEN')
    expect(firstPort).toBeGreaterThan(0)
    expect(first.listening).toBe(false)
    await once(first, 'close')
    const again = server()
    again.listen(firstPort, '127.0.0.1')
    await once(again, 'listening')
  })
})
