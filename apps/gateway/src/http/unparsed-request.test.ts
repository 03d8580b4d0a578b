import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listenOnFreePort, withTimeout } from '../../test/harness.js'
import { createLogger } from '../log/logger.js'
import { answerUnparsedRequest } from './unparsed-request.js'

describe('answerUnparsedRequest', () => {
  // A server wired as the gateway's are, whose own sockets the test can watch close.
  const server = http.createServer((_request, response) => response.end())
  const logger = createLogger('silent', new Writable({ write: (_chunk, _encoding, done) => done() }))
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerUnparsedRequest(error, socket, logger))
  let url = ''
  beforeAll(async () => {
    url = await listenOnFreePort(server)
  })
  afterAll(async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })

  /** The server's side of the next connection, once it is accepted. */
  const nextServerSocket = () => once(server, 'connection').then(([socket]) => socket as net.Socket)

  it('releases the socket of a peer that never reads nor closes once the answer is out', async () => {
    const { port } = new URL(url)
    const peers: net.Socket[] = []
    try {
      for (const bytes of [
        'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
        `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
      ]) {
        const accepted = nextServerSocket()
        // Half-open allowed, and paused: it neither reads the answer nor sends its FIN.
        const peer = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true })
        peer.pause()
        peer.on('error', () => {})
        peers.push(peer)
        peer.write(bytes)
        const serverSide = await accepted
        // Without the destroy, the server's socket waits for the peer's FIN for good.
        await withTimeout(
          once(serverSide, 'close'),
          3000,
          () => `the server kept the socket after ${bytes.slice(0, 20)}`,
        )
        expect(serverSide.destroyed).toBe(true)
      }
    } finally {
      for (const peer of peers) peer.destroy()
    }
  })

  it('still delivers the answer to a peer that reads it later', async () => {
    const { port } = new URL(url)
    const accepted = nextServerSocket()
    const peer = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true })
    peer.pause()
    peer.write('FOO / HTTP/1.1\r\nHost: x\r\n\r\n')
    await withTimeout(once(await accepted, 'close'), 3000, () => 'the server kept the socket')
    let text = ''
    peer.setEncoding('latin1')
    peer.on('data', (chunk: string) => {
      text += chunk
    })
    peer.resume()
    await withTimeout(once(peer, 'end'), 3000, () => `no end after ${JSON.stringify(text)}`)
    peer.destroy()
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
    expect(text).toContain('"code":"HERALD_ERR_BAD_REQUEST"')
  })
})
