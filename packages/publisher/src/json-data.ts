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
  if (json.includes('null') && holds(data, isNonFiniteNumber)) {
    return 'must not contain NaN or Infinity (JSON has no such numbers; 1e400 is Infinity)'
  }
  // A Map or a Set comes out as an object of its own properties, `{}` if it has none, its
  // entries dropped without a word. Any object can be one, so any text with an object is walked.
  if (json.includes('{') && holds(data, isMapOrSet)) {
    return 'must not contain a Map or a Set (JSON has neither: either is written as {}, without its entries); convert it first (Object.fromEntries(map), [...set])'
  }
  return undefined
}

const isNonFiniteNumber = (value: unknown): boolean => typeof value === 'number' && !Number.isFinite(value)
/** One whose own toJSON says what it is written as (a Map subclass that writes its entries) loses nothing. */
const isMapOrSet = (value: unknown): boolean =>
  (value instanceof Map || value instanceof Set) && typeof (value as { toJSON?: unknown }).toJSON !== 'function'

/**
 * Whether `found` holds for the value or anything in it that JSON.stringify serialises: array
 * items, own enumerable properties, and toJSON results.
 */
export function holds(value: unknown, found: (value: unknown) => boolean): boolean {
  if (found(value)) return true
  if (value === null || typeof value !== 'object') return false
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') {
    const replaced: unknown = toJSON.call(value)
    return replaced !== value && holds(replaced, found)
  }
  // A Number object has no own properties; JSON.stringify writes its value (`new Number(NaN)` as null).
  if (value instanceof Number) return found(value.valueOf())
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    if (holds(child, found)) return true
  }
  return false
}

/**
 * How deep data may nest, counting objects and arrays: the gateway's `POST /v1/publish` refuses
 * deeper data (`MAX_DATA_DEPTH` in its publish-body.ts), so the SDK refuses it too.
 */
export const MAX_DATA_DEPTH = 32

const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether JSON text nests objects and arrays more than `max` levels deep (`[[1]]` is two), as
 * parsing it would. Brackets in keys and strings do not count; strings are skipped with indexOf.
 */
export function nestsDeeperThan(json: string, max: number): boolean {
  // Going deeper takes more than `max` opening brackets and as many closing ones. Counting them
  // with indexOf, which skips ahead fast, spares the usual payload the scan below: that scan
  // cost 0.65 µs of a 1.5 µs encodeMessage for a 115-character object.
  if (json.length <= 2 * max + 1) return false
  if (openingBrackets(json, max + 1) <= max) return false
  let depth = 0
  for (let i = 0; i < json.length; i++) {
    const unit = json.charCodeAt(i)
    if (unit === QUOTE) i = closingQuote(json, i)
    else if (unit === 0x5b || unit === 0x7b) {
      if (++depth > max) return true
    } else if (unit === 0x5d || unit === 0x7d) depth--
  }
  return false
}

/** How many `[` and `{` the text holds, counting no further than `enough`. */
function openingBrackets(json: string, enough: number): number {
  let count = 0
  for (const bracket of ['[', '{']) {
    for (let at = json.indexOf(bracket); at >= 0 && count < enough; at = json.indexOf(bracket, at + 1)) count++
  }
  return count
}

/**
 * The index of the quote that closes the JSON string whose opening quote is at `open`: the
 * first one not escaped (an odd run of backslashes before a quote escapes it), or the text's
 * length if none does. Also serves the gateway's scan of publish bodies (raw-json.ts).
 */
export function closingQuote(json: string, open: number): number {
  let quote = json.indexOf('"', open + 1)
  for (;;) {
    // Text JSON.stringify made always closes its strings; other text ends here.
    if (quote < 0) return json.length
    let backslashes = 0
    while (json.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote
    quote = json.indexOf('"', quote + 1)
  }
}
