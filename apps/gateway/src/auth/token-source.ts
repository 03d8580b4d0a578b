/**
 * Where a subscriber's token comes from, in order: `Authorization: Bearer`,
 * the `herald_token` cookie, then the `access_token` query parameter (native
 * EventSource cannot set headers). Pure, so the order is unit-tested.
 * An `Authorization` that could only be read one of several ways (sent twice,
 * or a Bearer token with more after it) is refused as malformed, as the
 * publish key is: a proxy in front that reads it another way would disagree
 * on whose stream this is.
 */

import { HeraldError } from '../errors/herald-error.js'

export const TOKEN_COOKIE = 'herald_token'
export const TOKEN_QUERY_PARAMETER = 'access_token'

export interface TokenCarriers {
  /** Every `Authorization` header, in order. */
  readonly authorization: readonly string[]
  readonly cookie: string | undefined
  /** Every `access_token` in the query, in order: the first non-empty one counts, as for the cookie. */
  readonly query: readonly string[]
}

/** Throws HERALD_ERR_TOKEN_MALFORMED for an `Authorization` that is repeated, or a Bearer one with more than a token. */
export function findToken(carriers: TokenCarriers): string | undefined {
  const bearer = readBearer(carriers.authorization)
  if (bearer !== undefined) return bearer
  const fromCookie = readCookie(carriers.cookie, TOKEN_COOKIE)
  if (fromCookie !== undefined) return fromCookie
  return carriers.query.find((value) => value !== '')
}

/** The credential of `Bearer <credential>` with nothing after it, for a token or a publish key. */
export function bearerCredential(authorization: string): string | undefined {
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1]
}

/**
 * The token of the one `Authorization: Bearer`. Other schemes are not Herald's (a proxy's Basic
 * credentials, say) and a bare `Bearer` holds no token: the cookie or the query may.
 */
function readBearer(authorization: readonly string[]): string | undefined {
  if (authorization.length > 1) {
    throw new HeraldError('HERALD_ERR_TOKEN_MALFORMED', 'send one Authorization header, not several')
  }
  const value = authorization[0]
  if (value === undefined || !/^Bearer(?:[ \t]|$)/i.test(value)) return undefined
  const bearer = bearerCredential(value)
  if (bearer === undefined && value.slice(6).trim() !== '') {
    throw new HeraldError(
      'HERALD_ERR_TOKEN_MALFORMED',
      'send "Authorization: Bearer <token>", with nothing after the token',
    )
  }
  return bearer
}

/**
 * The first non-empty value of the cookie `name`. A browser sends one cookie per path and
 * domain it was set for, so the same name can come twice; an emptied one (a logout on one
 * path) must not hide a live one set elsewhere.
 */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq <= 0 || pair.slice(0, eq).trim() !== name) continue
    const value = unquote(pair.slice(eq + 1).trim())
    if (value !== '') return value
  }
  return undefined
}

/** RFC 6265 lets a cookie value come in double quotes, which some frameworks write; they are not part of it. */
function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
}
