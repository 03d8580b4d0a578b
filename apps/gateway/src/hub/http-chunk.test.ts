import { describe, expect, it } from 'vitest'
import { chunkHeader, frameChunk } from './http-chunk.js'

describe('HTTP/1.1 chunk framing', () => {
  it('writes the size in hexadecimal', () => {
    expect(chunkHeader(0)).toBe('0\r\n')
    expect(chunkHeader(255)).toBe('ff\r\n')
    expect(chunkHeader(4096)).toBe('1000\r\n')
  })

  it('frames a payload by its byte length, not its character count', () => {
    const payload = Buffer.from('data: héllo 🔔\n\n')
    expect(frameChunk(payload).toString()).toBe(`${payload.length.toString(16)}\r\ndata: héllo 🔔\n\n\r\n`)
  })
})
