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

  /** What /dev/token answers a body of these bytes, on a gateway that mints. */
  async function mint(body: string | Uint8Array): Promise<{ status: number; json: any }> {
    gateway ??= await startTestGateway({}, {}, ['--dev'])
    const minted = await fetch(`${gateway.url}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    })
    return { status: minted.status, json: await minted.json() }
  }

  it('refuses grants that make a token longer than a stream takes, rather than minting one every stream refuses', async () => {
    const grants = (count: number) =>
      JSON.stringify({ user: 'demo', topics: Array.from({ length: count }, (_, i) => `t${i}`) })
    const fits = await mint(grants(100))
    expect(fits.status).toBe(200)
    const tooLong = await mint(grants(1500))
    expect(tooLong.status).toBe(400)
    expect(tooLong.json.error.message).toMatch(
      /^topics: too many grants: the token would be \d+ characters, and a stream takes at most 8192$/,
    )
  })

  it('says a body that is not UTF-8 is not UTF-8, not that its user id is invalid', async () => {
    const invalid = await mint(Buffer.concat([Buffer.from('{"user":"'), Buffer.from([0xff]), Buffer.from('"}')]))
    expect(invalid).toEqual({
      status: 400,
      json: { error: { code: 'HERALD_ERR_BODY_INVALID', message: 'body: is not valid UTF-8' } },
    })
  })
})
