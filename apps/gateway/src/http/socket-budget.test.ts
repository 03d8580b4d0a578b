import { once } from 'node:events'
import http, { type ServerResponse } from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type BudgetClose, SocketBudget } from './socket-budget.js'

/** A real HTTP server on loopback, its sockets under a budget of `capacity`, holding every `/hold` request unanswered. */
async function serverWithBudget(capacity: number) {
  const closes: BudgetClose[] = []
  const held: ServerResponse[] = []
  let accepted = 0
  let onAccepted: () => void = () => {}
  const server = http.createServer((request, response) => {
    budget.requestArrived(request.socket)
    if (request.url === '/hold') held.push(response)
    else if (request.url === '/big') response.end(Buffer.alloc(256 * 1024))
    else response.end('ok')
  })
  const openSockets = () => (server as http.Server & { _connections: number })._connections
  const budget = new SocketBudget(capacity, openSockets, (which) => closes.push(which))
  // Keep-alive sockets stay open until the budget closes them, not Node's 5 s timer.
  server.keepAliveTimeout = 0
  server.on('connection', (socket) => {
    budget.accepted(socket)
    accepted++
    onAccepted()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  /** A client socket, once the server has taken it; `closed` resolves when the server closes it. */
  const connect = async () => {
    const target = accepted + 1
    const taken = new Promise<void>((resolve) => {
      onAccepted = () => {
        if (accepted >= target) resolve()
      }
    })
    const socket = net.connect(port, '127.0.0.1')
    socket.setEncoding('latin1')
    let received = ''
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    const closed = once(socket, 'close').then(() => undefined)
    await taken
    return {
      socket,
      closed,
      isClosed: () => socket.destroyed || socket.readableEnded,
      received: () => received,
    }
  }
  const answers = async (client: Awaited<ReturnType<typeof connect>>, count: number) => {
    while ((client.received().match(/HTTP\/1\.1 200/g) ?? []).length < count) await once(client.socket, 'data')
  }
  return { budget, openSockets, closes, held, connect, answers, server }
}

let servers: Array<{ server: http.Server; budget: SocketBudget }> = []
afterEach(() => {
  for (const { server, budget } of servers) {
    budget.close()
    server.closeAllConnections()
    server.close()
  }
  servers = []
})

describe('SocketBudget', () => {
  it('closes the idle socket connected longest ago for a newcomer past the budget', async () => {
    const { budget, openSockets, closes, connect, server } = await serverWithBudget(3)
    servers.push({ server, budget })
    const [a, b, c] = [await connect(), await connect(), await connect()]
    expect(openSockets()).toBe(3)
    const d = await connect()
    await a.closed
    expect([b, c, d].map((client) => client.isClosed())).toEqual([false, false, false])
    expect(closes).toEqual(['idle'])
    const e = await connect()
    await b.closed
    expect([c, d, e].map((client) => client.isClosed())).toEqual([false, false, false])
    expect(closes).toEqual(['idle', 'idle'])
  })

  it('never closes a socket with a request in flight: with none idle, the newcomer is closed', async () => {
    const { budget, closes, held, connect, server } = await serverWithBudget(2)
    servers.push({ server, budget })
    const busy = [await connect(), await connect()]
    for (const client of busy) client.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n')
    while (held.length < 2) await once(server, 'request')
    const newcomer = await connect()
    await newcomer.closed
    expect(newcomer.received()).toBe('')
    expect(closes).toEqual(['newcomer'])
    expect(busy.map((client) => client.isClosed())).toEqual([false, false])
  })

  it('a keep-alive socket is idle again once answered; a pipelined one only once every answer is out', async () => {
    const { budget, closes, held, connect, answers, server } = await serverWithBudget(3)
    servers.push({ server, budget })
    const answered = await connect()
    const pipelined = await connect()
    const third = await connect()
    // Two requests in one write: the first is answered, the second held.
    pipelined.socket.write('GET /now HTTP/1.1\r\nHost: x\r\n\r\nGET /hold HTTP/1.1\r\nHost: x\r\n\r\n')
    await answers(pipelined, 1)
    answered.socket.write('GET /now HTTP/1.1\r\nHost: x\r\n\r\n')
    await answers(answered, 1)
    third.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n')
    while (held.length < 2) await once(server, 'request')
    // Idle now: only the keep-alive socket whose one request was answered.
    const newcomer = await connect()
    await answered.closed
    expect(closes).toEqual(['idle'])
    expect([pipelined, third, newcomer].map((client) => client.isClosed())).toEqual([false, false, false])
    // Once its held answer is out, the pipelined socket is idle too. It sent its last request
    // before the newcomer connected: the next two newcomers close them in that order.
    held[0]!.end('ok')
    await answers(pipelined, 2)
    await connect()
    await pipelined.closed
    expect(newcomer.isClosed()).toBe(false)
    await connect()
    await newcomer.closed
    expect(closes).toEqual(['idle', 'idle', 'idle'])
    expect(third.isClosed()).toBe(false)
  })

  it('with none idle, closes a socket whose client does not read its answers before the newcomer', async () => {
    const { budget, closes, held, connect, server } = await serverWithBudget(2)
    servers.push({ server, budget })
    const stalled = await connect()
    stalled.socket.pause()
    const busy = await connect()
    busy.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n')
    // Answers of 256 KiB, pipelined and never read, back up past the kernel's buffers and the socket's own.
    const sockets: net.Socket[] = []
    server.on('request', (request) => sockets.push(request.socket))
    stalled.socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100))
    while (
      held.length < 1 ||
      !sockets.some((socket) => socket.remotePort === stalled.socket.localPort && socket.writableNeedDrain)
    )
      await new Promise((resolve) => setImmediate(resolve))
    const newcomer = await connect()
    // Read again, the client takes what had left and then sees its connection end.
    stalled.socket.resume()
    await stalled.closed
    expect(closes).toEqual(['stalled'])
    expect([busy, newcomer].map((client) => client.isClosed())).toEqual([false, false])
  })

  it('with none idle or stalled, closes a socket whose request body is still to come before the newcomer', async () => {
    const { budget, closes, held, connect, server } = await serverWithBudget(2)
    servers.push({ server, budget })
    const answering = await connect()
    answering.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n')
    const unfinished = await connect()
    // The head of a publish and 10 of its 100 bytes of body: nothing a route could act on yet.
    unfinished.socket.write(`POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${'x'.repeat(10)}`)
    while (held.length < 2) await once(server, 'request')
    const newcomer = await connect()
    await unfinished.closed
    expect(closes).toEqual(['unfinished'])
    expect([answering, newcomer].map((client) => client.isClosed())).toEqual([false, false])
  })

  it('frees the slot of a socket its client closed', async () => {
    const { budget, openSockets, closes, connect, server } = await serverWithBudget(2)
    servers.push({ server, budget })
    const first = await connect()
    await connect()
    first.socket.destroy()
    while (openSockets() > 1) await new Promise((resolve) => setImmediate(resolve))
    await connect()
    expect(openSockets()).toBe(2)
    expect(closes).toEqual([])
  })
})
