import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { topicChannel, userChannel } from './channel.js'
import { decodeResumeToken, encodeResumeToken, resumeComponent } from './resume-token.js'
import { formatStreamId } from './stream-id.js'

describe('resume token', () => {
  it('round-trips positions for a user and several topics', () => {
    const channels = [userChannel('alice'), topicChannel('news'), topicChannel('org/1/*'.slice(0, 5))]
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 3, maxLength: 3 }), (ids) => {
        const token = encodeResumeToken(
          channels.map((c, i) => resumeComponent(c.tag, formatStreamId({ ms: ids[i]![0], seq: ids[i]![1] }))),
        )
        const decoded = decodeResumeToken(token)
        expect(decoded?.size).toBe(3)
        channels.forEach((c, i) => {
          expect(decoded?.get(c.tag)).toEqual({ ms: ids[i]![0], seq: ids[i]![1] })
        })
      }),
    )
  })

  it('never contains characters that would break an SSE id field or a header', () => {
    const token = encodeResumeToken([resumeComponent(userChannel('a b\nc').tag, '1-0')])
    expect(token).toMatch(/^[ut][0-9a-f]{8}:\d+-\d+$/)
  })

  it('rejects malformed tokens', () => {
    const cases = [
      '',
      'garbage',
      'u00000000',
      'u00000000:',
      'u00000000:1',
      'x00000000:1-0',
      'u0000000:1-0',
      'u00000000:1-0,',
      'u00000000:1-0,u00000000:2-0',
      `u00000000:1-0${',t00000000:1-0'.repeat(70)}`,
      'u00000000:1-0\n',
      'U00000000:1-0',
    ]
    for (const token of cases) expect(decodeResumeToken(token), token).toBeUndefined()
  })

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const decoded = decodeResumeToken(text)
        expect(decoded === undefined || decoded instanceof Map).toBe(true)
      }),
    )
  })
})
