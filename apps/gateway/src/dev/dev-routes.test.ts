import { afterEach, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../../test/harness.js'

describe('POST /dev/token', () => {
  let gateway: TestGateway | undefined
  afterEach(async () => {
    await gateway?.close()
    gateway = undefined
  })

  it('answers 404 naming JWT_JWKS_URL when the keys come from a JWKS, since the signing key is elsewhere', async () => {
    // Nothing listens on port 1: minting must be refused without fetching the key set.
    gateway = await startTestGateway({ JWT_SECRET: '', JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json' }, {}, ['--dev'])
    const minted = await fetch(`${gateway.url}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"user":"demo"}',
    })
    expect(minted.status).toBe(404)
    expect(await minted.json()).toEqual({
      error: {
        code: 'HERALD_ERR_NOT_FOUND',
        message:
          'token minting needs JWT_SECRET; this gateway verifies with the keys of JWT_JWKS_URL, whose signing key it does not hold',
      },
    })
  })
})
