/**
 * Where a subscriber's token comes from, in order: `Authorization: Bearer`,
 * the `herald_token` cookie, then the `access_token` query parameter (native
 * EventSource cannot set headers). Pure, so the order is unit-tested.
 */

export const TOKEN_COOKIE = 'herald_token'
export const TOKEN_QUERY_PARAMETER = 'access_token'

export interface TokenCarriers {
  readonly authorization: string | undefined
  readonly cookie: string | undefined
  /** Every `access_token` in the query, in order: the first non-empty one counts, as for the cookie. */
  readonly query: readonly string[]
}

export function findToken(carriers: TokenCarriers): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(carriers.authorization ?? '')
  if (bearer?.[1] !== undefined) return bearer[1]
  const fromCookie = readCookie(carriers.cookie, TOKEN_COOKIE)
  if (fromCookie !== undefined) return fromCookie
  return carriers.query.find((value) => value !== '')
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
