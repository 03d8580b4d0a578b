/**
 * The publish API key check. Keys are compared as SHA-256 digests with
 * `timingSafeEqual`, so neither the content nor the length of a key leaks
 * through timing, and every configured key is always compared (two keys
 * are valid at once during rotation).
 */

import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { bearerCredential } from '../auth/token-source.js'
import { HeraldError } from '../errors/herald-error.js'

export function createApiKeyMatcher(keys: readonly string[]): (presented: string) => boolean {
  const digests = keys.map(sha256)
  return (presented) => {
    const digest = sha256(presented)
    let match = false
    for (const known of digests) match = timingSafeEqual(digest, known) || match
    return match
  }
}

export function requirePublishKey(keys: readonly string[]): MiddlewareHandler {
  const matches = createApiKeyMatcher(keys)
  return async (c, next) => {
    const authorization = c.req.header('authorization')
    // `Bearer` and nothing else (Node trims the space after it) sends no key either.
    if (authorization === undefined || /^(bearer)?$/i.test(authorization.trim())) {
      throw new HeraldError(
        'HERALD_ERR_PUBLISH_KEY_MISSING',
        'send the publish API key as "Authorization: Bearer <key>"',
      )
    }
    // Repeated headers arrive joined by ", ", so two keys (or a key and more text) land here too:
    // a key was sent, in a form no key can match.
    const bearer = bearerCredential(authorization)
    if (bearer === undefined) {
      throw new HeraldError(
        'HERALD_ERR_PUBLISH_KEY_INVALID',
        'send exactly one "Authorization: Bearer <key>" header, with nothing after the key',
      )
    }
    if (!matches(bearer)) throw new HeraldError('HERALD_ERR_PUBLISH_KEY_INVALID', 'publish API key is not valid')
    await next()
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
