/**
 * Clock skew around token expiry: tokens whose `exp` or `nbf` sit just inside or
 * beyond JWT_CLOCK_TOLERANCE_SECONDS of the gateway's clock, and short-lived tokens
 * expiring under a stream while publishing: the stream closes, the client comes
 * back with a fresh token and resumes. Every published message is counted.
 */

import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RawSseStream, RecordingEventSource, startTestGateway, TEST_SECRET, type TestGateway } from '../harness.js'
import { atScale, SCENARIO_TIMEOUT_MS } from './scale.js'
import { DeliveryLedger, expectExact, publishCounted, settle } from './scenario.js'

const TOLERANCE_SECONDS = 5

/** A token from an issuer whose clock is `skewSeconds` ahead of the gateway's (behind, if negative). */
function skewedToken(sub: string, skewSeconds: number, lifetimeSeconds: number): Promise<string> {
  const issuerNow = Math.floor(Date.now() / 1000) + skewSeconds
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(issuerNow)
    .setNotBefore(issuerNow)
    .setExpirationTime(issuerNow + lifetimeSeconds)
    .sign(new TextEncoder().encode(TEST_SECRET))
}

describe('token expiry and clock skew', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway({
      JWT_CLOCK_TOLERANCE_SECONDS: String(TOLERANCE_SECONDS),
      TOKEN_EXPIRY_JITTER_MS: '0',
    })
  })
  afterAll(() => gateway.close())

  /** The status and error code a stream request with `token` gets. */
  async function answer(token: string): Promise<[number, string]> {
    const stream = new RawSseStream(gateway.eventsUrl(), { Authorization: `Bearer ${token}` })
    await stream.until((s) => s.status !== 0, 5000, 'a status')
    if (stream.status === 200) {
      await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 5000, 'herald.ready')
      stream.close()
      return [200, 'herald.ready']
    }
    await stream.ended
    return [stream.status, stream.json().error.code]
  }

  it('accepts tokens skewed within the tolerance and refuses those beyond it', async () => {
    const within = TOLERANCE_SECONDS - 2
    const beyond = TOLERANCE_SECONDS + 5
    // An issuer ahead: nbf is in the gateway's future.
    expect(await answer(await skewedToken('ahead', within, 60))).toEqual([200, 'herald.ready'])
    expect(await answer(await skewedToken('ahead', beyond, 60))).toEqual([401, 'HERALD_ERR_TOKEN_CLAIM'])
    // An issuer behind, or a token just expired: exp is in the gateway's past.
    expect(await answer(await skewedToken('behind', -60 - within, 60))).toEqual([200, 'herald.ready'])
    expect(await answer(await skewedToken('behind', -60 - beyond, 60))).toEqual([401, 'HERALD_ERR_TOKEN_EXPIRED'])
  })

  it('with no tolerance, refuses a token a second past its exp', async () => {
    const strict = await startTestGateway({ JWT_CLOCK_TOLERANCE_SECONDS: '0' })
    try {
      const stream = new RawSseStream(strict.eventsUrl(), {
        Authorization: `Bearer ${await skewedToken('strict', -61, 60)}`,
      })
      await stream.ended
      expect([stream.status, stream.json().error.code]).toEqual([401, 'HERALD_ERR_TOKEN_EXPIRED'])
    } finally {
      await strict.close()
    }
  })

  it('closes a stream whose token expires, and the client resumes with a fresh token without loss', async () => {
    const ledger = new DeliveryLedger('token expiry: resume with a fresh token')
    // Tokens live 1 s plus a 1 s tolerance, so streams keep expiring while the messages go out.
    const expiring = await startTestGateway({ JWT_CLOCK_TOLERANCE_SECONDS: '1', TOKEN_EXPIRY_JITTER_MS: '0' })
    const tokens: string[] = []
    const fresh = async () => {
      tokens.push(await skewedToken('expiring', 0, 1))
      return tokens.at(-1)!
    }
    const client = new RecordingEventSource(expiring.eventsUrl(), { token: fresh })
    ledger.track('expiring', client)
    try {
      await client.waitForReady()
      await publishCounted(ledger, atScale(800, 6000), 100, (n) =>
        expiring.publish({ user: 'expiring', data: n, idempotencyKey: `m${n}` }).then(({ status }) => {
          if (status !== 200) throw new Error(`publish answered ${status}`)
        }),
      )
      expectExact(await settle(ledger, [client]))
      // Every (re)connection but the first followed a token expiry, and each came with a new token.
      expect(client.readies).toBeGreaterThanOrEqual(atScale(2, 10))
      expect(new Set(tokens).size).toBe(client.opens)
      // A client that keeps its expired token is refused, not served.
      const kept = new RawSseStream(expiring.eventsUrl(), { Authorization: `Bearer ${tokens[0]}` })
      await kept.ended
      expect([kept.status, kept.json().error.code]).toEqual([401, 'HERALD_ERR_TOKEN_EXPIRED'])
    } finally {
      client.close()
      await expiring.close()
    }
  })
})
