/**
 * Which JWKS fetches end an outage in the log: only one that brought a key set jose accepts.
 * A network error is a TypeError, as an unusable key's refusal is, and a 200 answer may hold a
 * body jose refuses; neither may end an outage, even beside a verification from the cache.
 */

import { generateKeyPairSync, pbkdf2 } from 'node:crypto'
import http from 'node:http'
import { Writable } from 'node:stream'
import { exportJWK, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { listenOnFreePort, TEST_API_KEY } from '../../test/harness.js'
import { loadConfig } from '../config/config.js'
import { createLogger } from '../log/logger.js'
import { createTokenVerifier, JWKS_MAX_AGE_MS } from './token-verifier.js'

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 })
let keySet = ''
/** How the next answers go, in order; then the key set. */
let script: Array<'500' | 'drop' | { body: string }> = []
const server = http.createServer((request, response) => {
  const answer = script.shift()
  if (answer === 'drop') return void request.socket.destroy()
  response.writeHead(answer === '500' ? 500 : 200, { 'Content-Type': 'application/json' })
  response.end(answer === undefined ? keySet : answer === '500' ? 'no' : answer.body)
})
let url = ''
const sign = (kid: string, sub = 'alice') =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(keys.privateKey)

/** A verifier of its own, and the levels of the lines it logs. */
function verifier() {
  const levels: number[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      levels.push(JSON.parse(String(chunk)).level)
      done()
    },
  })
  const config = loadConfig({
    env: { JWT_JWKS_URL: url, JWT_JWKS_COOLDOWN_MS: '0', PUBLISH_API_KEY: TEST_API_KEY },
    argv: [],
  })
  return { verify: createTokenVerifier(config.jwt, createLogger('info', sink)), levels }
}

beforeAll(async () => {
  keySet = JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] })
  url = `${await listenOnFreePort(server)}/jwks.json`
})
afterAll(() => server.close())
afterEach(() => {
  script = []
  vi.useRealTimers()
})

describe('the JWKS outage log', () => {
  it.each(['500', 'drop'] as const)(
    'is not ended by a refetch that succeeded before one that failed (%s) in the same verification',
    async (failure) => {
      const { verify, levels } = verifier()
      await verify(await sign('k1'))
      vi.useFakeTimers({ toFake: ['Date', 'performance'] })
      vi.advanceTimersByTime(JWKS_MAX_AGE_MS + 1000)
      // The stale set is fetched again, then the unknown kid's refetch fails.
      script = [{ body: keySet }, failure]
      const code = await verify(await sign('k9')).then(
        () => 'verified',
        (error) => error.code,
      )
      expect(code).toBe('HERALD_ERR_KEYS_UNAVAILABLE')
      expect(levels).toEqual([40])
    },
  )

  it.each(['{"keys":"x"}', '{"keys":[1]}', '{"keys":[null]}'])(
    'is not ended by a 200 answer %s, which jose refuses, beside a verification from the cache',
    async (bad) => {
      const { verify, levels } = verifier()
      expect((await verify(await sign('k1', 'alice'))).userId).toBe('alice')
      script = ['500']
      await expect(verify(await sign('k2'))).rejects.toMatchObject({ code: 'HERALD_ERR_KEYS_UNAVAILABLE' })
      script = [{ body: bad }]
      const [cached, unknown] = await Promise.all([sign('k1', 'fred'), sign('k2', 'erin')])
      // A busy threadpool, as under load: the cached verification's signature check waits, while
      // the refetch's answer comes in.
      const busy = Array.from(
        { length: 4 },
        () => new Promise((resolve) => pbkdf2('x', 'y', 300_000, 32, 'sha256', resolve)),
      )
      const [fromCache, fromFetch] = await Promise.allSettled([verify(cached), verify(unknown)])
      await Promise.all(busy)
      expect(fromCache.status).toBe('fulfilled')
      expect(fromFetch).toMatchObject({ status: 'rejected', reason: { code: 'HERALD_ERR_KEYS_UNAVAILABLE' } })
      expect(levels).toEqual([40])
    },
  )
})
