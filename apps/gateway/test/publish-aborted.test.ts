/**
 * A publisher that goes away before its body ends, over real sockets: the gateway
 * logs the request as the client's 400 `HERALD_ERR_BODY_INCOMPLETE`, whether the body
 * was chunked or had a Content-Length, never as an internal error (which the README
 * says is a bug to report) or as invalid UTF-8.
 */

import { once } from 'node:events'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { startGatewayProcess, TEST_API_KEY } from './harness.js'

/** Sends the head, waits for the gateway's 100 Continue (it is reading the body), sends part of the body and leaves. */
async function publishAndLeave(port: number, framing: string, partialBody: string): Promise<void> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(
    'POST /v1/publish HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${TEST_API_KEY}\r\nExpect: 100-continue\r\n${framing}\r\n\r\n`,
  )
  let answer = ''
  socket.setEncoding('utf8')
  while (!answer.includes('\r\n\r\n')) answer += (await once(socket, 'data'))[0]
  expect(answer).toMatch(/^HTTP\/1\.1 100 Continue/)
  socket.write(partialBody)
  socket.destroy()
}

describe('a publish whose client goes away mid-body', () => {
  it("is logged as the client's incomplete body, never as an internal error or invalid UTF-8", async () => {
    const { process, url } = await startGatewayProcess()
    try {
      const port = Number(new URL(url).port)
      await publishAndLeave(port, 'Transfer-Encoding: chunked', '5\r\n{"use\r\n')
      await publishAndLeave(port, 'Content-Length: 100', '{"user":"a"')
      await process.waitForOutput(/"code":"HERALD_ERR_BODY_INCOMPLETE"[\s\S]*"code":"HERALD_ERR_BODY_INCOMPLETE"/)
      // One line per request, its route's: none for the parse error the early end also causes.
      const requests = process
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"request"'))
        .map((line) => JSON.parse(line))
      const incomplete = { url: '/v1/publish', status: 400, level: 30, code: 'HERALD_ERR_BODY_INCOMPLETE' }
      expect(requests).toEqual([expect.objectContaining(incomplete), expect.objectContaining(incomplete)])
      expect(process.output()).not.toMatch(/unhandled error|HERALD_ERR_INTERNAL|not valid UTF-8/)
    } finally {
      await process.stop()
    }
  })
})
