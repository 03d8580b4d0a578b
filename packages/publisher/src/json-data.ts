/**
 * The rules a message's data must keep so that Redis's functions and the
 * embedded broker store the same thing, or refuse the same thing. Shared by
 * the SDK (`encodeMessage`) and the gateway's publish body validation.
 *
 * - No unpaired UTF-16 surrogate, in a key or a string, at any depth. UTF-8
 *   cannot carry one: JSON.stringify writes it as an escape (`"\ud800"`), which
 *   Redis's cjson refuses (HERALD_ERR_DATA), while the embedded broker took it.
 * - No NaN or ±Infinity. JSON has no such numbers: JSON.stringify silently
 *   writes them as `null`, and JSON.parse reads `1e400` as Infinity, so
 *   subscribers would get a value nobody published.
 *
 * Both are checked on the JSON text JSON.stringify already made, because this
 * runs on every publish: the usual payload costs two substring scans, and only
 * a payload whose text could hide a problem is looked at more closely.
 */

/**
 * A `\ud800`-`\udfff` escape whose backslash is not itself escaped (`\\ud800` is
 * the six characters `\ud800`, not a surrogate). JSON.stringify escapes exactly the
 * unpaired surrogates, with lowercase hex, and writes valid pairs as they are, so
 * any such escape in its output is a lone half. The text never starts with `\`.
 */
const LONE_SURROGATE_ESCAPE = /[^\\](?:\\\\)*\\ud[89a-f]/

/**
 * Why data cannot be published, or `undefined` if it can; `json` is `JSON.stringify(data)`.
 * The answer completes a sentence about the data ("data must not ...").
 */
export function dataProblem(data: unknown, json: string): string | undefined {
  if (json.includes('\\ud') && LONE_SURROGATE_ESCAPE.test(json)) {
    return 'must not contain unpaired UTF-16 surrogates (like "\\ud800") in keys or strings; they have no UTF-8 encoding'
  }
  // NaN and Infinity come out as null, so only text with a null needs the walk.
  if (json.includes('null') && hasNonFiniteNumber(data)) {
    return 'must not contain NaN or Infinity (JSON has no such numbers; 1e400 is Infinity)'
  }
  return undefined
}

/** Follows what JSON.stringify serialises: array items, own enumerable properties, and toJSON results. */
function hasNonFiniteNumber(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value)
  if (value === null || typeof value !== 'object') return false
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') {
    const replaced: unknown = toJSON.call(value)
    return replaced !== value && hasNonFiniteNumber(replaced)
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    if (hasNonFiniteNumber(child)) return true
  }
  return false
}
