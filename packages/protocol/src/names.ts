/**
 * Name rules for user ids, topics, topic grants and event types. One set of
 * rules for the gateway, the publisher and the client, so a name that one
 * accepts the others accept too. The alphabets leave out `{`, `}` (Redis hash
 * tags), `,` (the `topics=` separator), `*` (grant wildcard), whitespace and
 * control characters, so no name can alter a Redis key or an SSE frame.
 */

const USER_ID = /^[A-Za-z0-9._:@+=|-]{1,128}$/
const TOPIC = /^[A-Za-z0-9._:@+=|/-]{1,128}$/
const TOPIC_GRANT = /^(?:[A-Za-z0-9._:@+=|/-]{1,128}\*?|\*)$/
// Control characters (C0, DEL, C1) and the Unicode line separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/
// An unpaired UTF-16 surrogate: with the `u` flag a valid pair is one code point, so only a lone
// half matches. UTF-8 has no encoding for one; it reaches Redis as U+FFFD, so "q\ud800" and
// "q\ufffd" would name the same key there while the embedded broker kept them apart.
const LONE_SURROGATE = /\p{Cs}/u

/** Event types starting with this are Herald's own (`herald.reset`, ...). */
export const RESERVED_TYPE_PREFIX = 'herald.'
export const MAX_TYPE_LENGTH = 128

export function isValidUserId(value: string): boolean {
  return USER_ID.test(value)
}

export function isValidTopic(value: string): boolean {
  return TOPIC.test(value)
}

export function isValidTopicGrant(value: string): boolean {
  return TOPIC_GRANT.test(value)
}

/** Whether `value` is well-formed UTF-16 (no unpaired surrogate), so it survives encoding as UTF-8. */
function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value)
}

/** Why a publisher-supplied event type is refused, or `undefined` if it is fine. */
export function eventTypeProblem(value: string): string | undefined {
  // Redis's functions count the type's UTF-8 bytes, so the limit is in bytes for both brokers.
  if (value.length === 0 || value.length > MAX_TYPE_LENGTH || utf8Length(value) > MAX_TYPE_LENGTH) {
    return `type must be 1 to ${MAX_TYPE_LENGTH} bytes of UTF-8`
  }
  if (CONTROL.test(value)) return 'type must not contain control characters or line breaks'
  if (!isWellFormedText(value)) return 'type must not contain unpaired UTF-16 surrogates'
  if (value.startsWith(RESERVED_TYPE_PREFIX)) {
    return `types starting with "${RESERVED_TYPE_PREFIX}" are reserved for Herald`
  }
  // A native EventSource dispatches these as its own events (a failed connection, an open) to
  // the same listeners. `message` stays allowed: it is what every client calls an untyped event.
  if (value === 'error' || value === 'open') {
    return 'type must not be "error" or "open": EventSource reserves them for its own events'
  }
  return undefined
}

export const MAX_IDEMPOTENCY_KEY_LENGTH = 200

/**
 * 1 to 200 characters (code points, as Redis's functions count them, so an emoji is one) with
 * no control characters and no unpaired surrogates.
 */
export function isValidIdempotencyKey(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 2 * MAX_IDEMPOTENCY_KEY_LENGTH &&
    !CONTROL.test(value) &&
    isWellFormedText(value) &&
    codePointLength(value) <= MAX_IDEMPOTENCY_KEY_LENGTH
  )
}

/** How many code points well-formed text holds: a surrogate pair is one. */
function codePointLength(value: string): number {
  let points = value.length
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i)
    if (unit >= 0xd800 && unit <= 0xdbff) points--
  }
  return points
}

/** How many bytes of UTF-8 well-formed text takes, without encoding it. */
function utf8Length(value: string): number {
  let bytes = value.length
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i)
    // A surrogate pair is 2 units and 4 bytes; other units above U+007F take 2 or 3 bytes.
    if (unit >= 0x80) bytes += unit < 0x800 ? 1 : unit >= 0xd800 && unit <= 0xdbff ? 0 : 2
  }
  return bytes
}

/** Whether `topic` is covered by a grant list; a trailing `*` grants a prefix. */
export function isTopicGranted(topic: string, grants: readonly string[]): boolean {
  for (const grant of grants) {
    if (grant.endsWith('*') ? topic.startsWith(grant.slice(0, -1)) : grant === topic) return true
  }
  return false
}
