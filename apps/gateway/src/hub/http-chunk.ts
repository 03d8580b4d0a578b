/**
 * HTTP/1.1 chunked transfer coding (RFC 9112 §7.1), for the SSE writer that
 * frames its own chunks. Pure, so the framing is tested without sockets.
 */

export const CRLF = '\r\n'

/** The size line that opens a chunk of `byteLength` bytes. */
export function chunkHeader(byteLength: number): string {
  return `${byteLength.toString(16)}${CRLF}`
}

/** `payload` framed as one complete chunk. */
export function frameChunk(payload: Buffer): Buffer {
  const header = chunkHeader(payload.length)
  const chunk = Buffer.allocUnsafe(header.length + payload.length + CRLF.length)
  chunk.write(header, 0, 'latin1')
  payload.copy(chunk, header.length)
  chunk.write(CRLF, header.length + payload.length, 'latin1')
  return chunk
}
