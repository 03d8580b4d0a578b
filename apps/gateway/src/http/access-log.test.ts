import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { logRequest } from './access-log.js'

/** The level and fields of the line logRequest writes for this answer. */
function lineFor(path: string, status: number, search = ''): { level: number } & Record<string, unknown> {
  const lines: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) })
  logRequest(logger, 'GET', path, search, status, performance.now())
  expect(lines).toHaveLength(1)
  return JSON.parse(lines[0]!)
}

describe('logRequest', () => {
  it('logs answers at info, probes at debug, a 503 (Redis away) at warn and a 500 at error', () => {
    expect(lineFor('/v1/publish', 200).level).toBe(30)
    expect(lineFor('/v1/publish', 401).level).toBe(30)
    expect(lineFor('/readyz', 503).level).toBe(20)
    expect(lineFor('/v1/publish', 503).level).toBe(40)
    expect(lineFor('/v1/publish', 500).level).toBe(50)
  })

  it('writes the method, the status and the path without the credentials of its query', () => {
    const line = lineFor('/v1/events', 200, '?topics=a&access_token=eyJsecret')
    expect(line).toMatchObject({ method: 'GET', status: 200, msg: 'request' })
    expect(JSON.stringify(line)).not.toContain('eyJsecret')
  })
})
