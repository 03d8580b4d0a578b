/**
 * Header values read straight from Node's `rawHeaders` (name, value, name,
 * value, ...). `IncomingMessage.headers` builds an object on first use and
 * keeps it as long as the request lives, which for an SSE stream is hours:
 * reading the few headers the stream route needs from the raw list keeps
 * nothing extra per stream. Pure, so Node's duplicate-header rules are
 * tested without sockets.
 */

/**
 * The value of the header `name` (lower case). A repeated header keeps its first value, as
 * Node does for `Authorization` and the like, except `Cookie`, whose values join with "; ".
 */
export function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const field = rawHeaders[i]!
    if (field.length !== name.length || field.toLowerCase() !== name) continue
    if (value === undefined) value = rawHeaders[i + 1]!
    else if (name === 'cookie') value = `${value}; ${rawHeaders[i + 1]!}`
    else break
  }
  return value
}
