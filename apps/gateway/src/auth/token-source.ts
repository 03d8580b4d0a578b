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
  readonly query: string | undefined
}

export function findToken(carriers: TokenCarriers): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(carriers.authorization ?? '')
  if (bearer?.[1] !== undefined) return bearer[1]
  const fromCookie = readCookie(carriers.cookie, TOKEN_COOKIE)
  if (fromCookie !== undefined && fromCookie !== '') return fromCookie
  if (carriers.query !== undefined && carriers.query !== '') return carriers.query
  return undefined
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}
