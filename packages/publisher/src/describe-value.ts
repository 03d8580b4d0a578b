/**
 * Words for values a caller passed or threw, for the messages of HERALD_ERR_INVALID: what kind
 * of value arrived where another was expected, and what a throw said, whatever was thrown.
 */

/** What a value is, for a message about a value of the wrong kind: `null`, `an array`, `a number`. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value !== 'object') return `a ${typeof value}`
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name !== 'string' || name === 'Object' ? 'an object' : `a ${name}`
}

/** The message of an Error; anything else thrown (`throw null`, `throw 'no'`) as it reads. */
export function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown)
}
