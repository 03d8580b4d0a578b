/**
 * Header values read straight from Node's `rawHeaders` (name, value, name,
 * value, ...), with Node's rules for repeated headers. Written to spare each
 * stream the `IncomingMessage.headers` object, but Node 20 builds that object
 * for every HTTP/1.1 request anyway: its own check of Expect reads
 * `headers.expect`. What remains is pure functions for the rules, tested
 * without sockets, and the credential blanking below.
 */

/** Headers that can carry a subscriber's token (`Authorization: Bearer`, the `herald_token` cookie). */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie']

/**
 * The value of the header `name` (lower case). A repeated header keeps its first value, as
 * Node does for `Authorization` and the like, except `Cookie`, whose values join with "; ".
 */
export function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!isNamed(rawHeaders[i]!, name)) continue
    if (value === undefined) value = rawHeaders[i + 1]!
    else if (name === 'cookie') value = `${value}; ${rawHeaders[i + 1]!}`
    else break
  }
  return value
}

/** Every value of the header `name` (lower case), in order: for rules about repeats, like one Host only. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (isNamed(rawHeaders[i]!, name)) values.push(rawHeaders[i + 1]!)
  return values
}

/**
 * Blanks, in place, the values of the headers named in `names` (lower case). A stream's request
 * lives as long as the stream, and Node keeps its raw headers with it: without this, every
 * stream would hold its token (a credential, and hundreds of bytes) in memory for hours.
 */
export function blankHeaderValues(rawHeaders: string[], names: readonly string[]): void {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const field = rawHeaders[i]!
    if (names.some((name) => isNamed(field, name))) rawHeaders[i + 1] = ''
  }
}

/** Whether a raw header `field` is `name` (lower case); lengths first, so most fields are never lower-cased. */
function isNamed(field: string, name: string): boolean {
  return field.length === name.length && field.toLowerCase() === name
}
