import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.js'
import { KEY_SET_OUTAGE_REMINDER_MS, KeySetFetchDeferred, KeySetOutageLog } from './key-set-outage.js'

/** An outage log writing to a list of parsed lines. */
function recording(url = 'https://keys.example/.well-known/jwks.json', fetchedAtMs?: () => number | undefined) {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  return { lines, outage: new KeySetOutageLog(createLogger('info', sink), new URL(url), fetchedAtMs) }
}

const refused = new Error('Expected 200 OK from the JSON Web Key Set HTTP response')

describe('KeySetOutageLog', () => {
  it('warns once as an outage starts, then at most once per reminder interval with the count since', () => {
    const { lines, outage } = recording()
    outage.failed(refused, 0)
    outage.failed(refused, 1)
    outage.failed(refused, KEY_SET_OUTAGE_REMINDER_MS - 1)
    expect(lines).toEqual([expect.objectContaining({ level: 40, refused: 1, err: refused.message })])
    outage.failed(refused, KEY_SET_OUTAGE_REMINDER_MS)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatchObject({ level: 40, refused: 3, msg: expect.stringMatching(/still cannot be fetched/) })
  })

  it('logs the end of an outage once, and nothing for keys that never failed', () => {
    const { lines, outage } = recording()
    outage.succeeded()
    expect(lines).toEqual([])
    outage.failed(refused, 0)
    outage.failed(refused, 1)
    outage.succeeded()
    outage.succeeded()
    expect(lines.map((line) => line['level'])).toEqual([40, 30])
    expect(lines[1]).toMatchObject({ refused: 1, msg: expect.stringMatching(/available again/) })
    expect(outage.failing).toBe(false)
    // The next outage is a new one, and warns at once.
    outage.failed(refused, 2)
    expect(lines).toHaveLength(3)
  })

  it('names the last fetch that failed, not the backoff that held the next one back, and the age of the set in use', () => {
    const { lines, outage } = recording(undefined, () => 0)
    outage.stale(refused, 300_000)
    outage.stale(new KeySetFetchDeferred(), 300_000 + KEY_SET_OUTAGE_REMINDER_MS)
    expect(lines.map(({ err, keySetAgeSeconds }) => [err, keySetAgeSeconds])).toEqual([
      [refused.message, 300],
      [refused.message, 360],
    ])
  })

  it("names a network failure's cause, and logs the JWKS URL without userinfo or query", () => {
    const { lines, outage } = recording('https://user:pw@keys.example/jwks.json?api_key=s3cr3t')
    outage.failed(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }), 0)
    expect(lines[0]).toMatchObject({ jwks: 'https://keys.example/jwks.json', err: 'fetch failed (ECONNREFUSED)' })
    expect(JSON.stringify(lines)).not.toMatch(/pw|s3cr3t/)
  })
})
