/**
 * Dev-only conveniences, mounted only with `--dev` (which also binds to
 * 127.0.0.1): the demo page and the @herald/client bundles it loads, a
 * token-minting endpoint and a keyless publish for the demo's form. None of
 * this exists in a production start.
 */

import { isValidTopicGrant, isValidUserId } from '@herald/protocol'
import { duplicateMember } from '@herald/publisher/internal'
import { Hono } from 'hono'
import { SignJWT } from 'jose'
import { MAX_TOKEN_LENGTH } from '../auth/token-verifier.js'
import { type GatewayConfig, isLoopback } from '../config/config.js'
import { HeraldError } from '../errors/herald-error.js'
import { isPlainObject } from '../http/publish-body.js'
import { handlePublish, publishBodyLimit, readUtf8Body, requireJsonBody } from '../http/publish-route.js'
import type { GatewayServices } from '../http/services.js'
import { loadClientBundles } from './client-bundles.js'
import { renderDemoPage } from './demo-page.js'

const MAX_TTL_SECONDS = 24 * 3600
/** What a token request may carry: a typo (`topic`) is named, not silently dropped. */
const TOKEN_FIELDS = new Set(['user', 'topics', 'ttlSeconds'])
/** A token request is a few hundred bytes; larger is a mistake. */
const MAX_TOKEN_REQUEST_BYTES = 16 * 1024

/**
 * Whether `/dev/token` can mint tokens: only with a shared secret (given or generated). With
 * JWT_PUBLIC_KEY or JWT_JWKS_URL the signing key is elsewhere, and the route answers 404.
 */
export function mintsTokens(jwt: GatewayConfig['jwt']): boolean {
  return jwt.key.kind === 'secret'
}

export function devRoutes(services: GatewayServices): Hono {
  const app = new Hono()
  const { key, issuer, audience } = services.config.jwt
  const demoPage = renderDemoPage()

  app.get('/', (c) => c.redirect('/demo'))
  app.get('/demo', (c) => c.html(demoPage))
  for (const [path, source] of loadClientBundles()) {
    app.get(path, (c) => c.body(source, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }))
  }
  app.get('/favicon.ico', (c) => c.body(null, 204))
  // A page of any site can reach a gateway on loopback by DNS rebinding: its own name, made to
  // resolve to 127.0.0.1, puts it on the gateway's origin. Its requests still name that site in
  // Host, so minting tokens and keyless publishing answer only a loopback Host.
  app.use('/dev/*', async (c, next) => {
    if (!services.config.devAllowRemote && !isLoopbackHost(c.req.header('host'))) {
      throw new HeraldError(
        'HERALD_ERR_HOST_FORBIDDEN',
        'dev routes answer only requests to localhost, *.localhost, 127.0.0.0/8 or [::1] (set DEV_ALLOW_REMOTE=true to allow others)',
      )
    }
    await next()
  })
  app.post('/dev/publish', publishBodyLimit(services.config.publishMaxBodyBytes), (c) => handlePublish(c, services))

  app.post('/dev/token', publishBodyLimit(MAX_TOKEN_REQUEST_BYTES), async (c) => {
    // As mintsTokens says; tested on the key itself, which narrows it to the secret below.
    if (key.kind !== 'secret') {
      throw new HeraldError(
        'HERALD_ERR_NOT_FOUND',
        `token minting needs JWT_SECRET; this gateway verifies with ${key.kind === 'jwks' ? 'the keys of JWT_JWKS_URL' : 'JWT_PUBLIC_KEY'}, whose signing key it does not hold`,
      )
    }
    requireJsonBody(c)
    const text = await readUtf8Body(c)
    const body = readJsonObject(text)
    if (body === undefined) {
      throw new HeraldError('HERALD_ERR_BODY_INVALID', 'body: must be a JSON object like {"user": "alice"}')
    }
    // As for a publish: JSON.parse keeps the last of a repeated field, so {"user":"alice","user":"bob"}
    // would mint a token for bob to someone who reads the first.
    const repeated = duplicateMember(text, 'topics')
    if (repeated !== undefined)
      throw new HeraldError('HERALD_ERR_BODY_INVALID', `${repeated}: is given more than once; give each field once`)
    const unknown = Object.keys(body).find((field) => !TOKEN_FIELDS.has(field))
    if (unknown !== undefined)
      throw new HeraldError('HERALD_ERR_BODY_INVALID', `${unknown}: unknown field (expected user, topics, ttlSeconds)`)
    const user = body['user']
    const topics = body['topics'] ?? []
    const ttlSeconds = body['ttlSeconds'] ?? 3600
    if (typeof user !== 'string' || !isValidUserId(user))
      throw new HeraldError('HERALD_ERR_BODY_INVALID', 'user: must be a valid user id')
    if (!Array.isArray(topics) || !topics.every((t) => typeof t === 'string' && isValidTopicGrant(t))) {
      throw new HeraldError('HERALD_ERR_BODY_INVALID', 'topics: must be an array of topic grants')
    }
    if (
      typeof ttlSeconds !== 'number' ||
      !Number.isInteger(ttlSeconds) ||
      ttlSeconds < 1 ||
      ttlSeconds > MAX_TTL_SECONDS
    ) {
      throw new HeraldError(
        'HERALD_ERR_BODY_INVALID',
        `ttlSeconds: must be a whole number from 1 to ${MAX_TTL_SECONDS}`,
      )
    }
    const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds
    let jwt = new SignJWT({ topics })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
    if (issuer !== undefined) jwt = jwt.setIssuer(issuer)
    if (audience !== undefined) jwt = jwt.setAudience(audience)
    const token = await jwt.sign(key.secret)
    // A token every stream would refuse is no token: say so here, where the grants are chosen.
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new HeraldError(
        'HERALD_ERR_BODY_INVALID',
        `topics: too many grants: the token would be ${token.length} characters, and a stream takes at most ${MAX_TOKEN_LENGTH}`,
      )
    }
    return c.json({ token, expiresAt: expiresAt * 1000 })
  })
  return app
}

/** Whether a Host header names this machine: a loopback address or `localhost`, with any port. */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '')
  return isLoopback(name) || name.toLowerCase().endsWith('.localhost')
}

/** The body's JSON object, or undefined for anything else (not JSON, an array, a string...). */
function readJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return isPlainObject(value) ? value : undefined
  } catch {
    return undefined
  }
}
