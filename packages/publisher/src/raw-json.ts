/**
 * Source text of values inside JSON text, so that a publish's `data` reaches
 * subscribers as its publisher wrote it. JSON.parse then JSON.stringify would
 * round 12345678901234567890 to 12345678901234567000 and turn -0 into 0, 1.0
 * into 1 and 1e2 into 100; Node 20's JSON.parse cannot hand out source text.
 *
 * The text must be JSON that JSON.parse accepted: nothing is checked, brackets
 * are only counted. One pass over the text, with no allocation per character:
 * values are copied as slices of it, made compact by leaving out the whitespace
 * between tokens (SSE data stays one line: a JSON string cannot hold a raw line
 * break). Strings, escapes included, and numbers are copied as written.
 *
 * A member that appears twice counts once, with its last value, as JSON.parse does.
 */

import { kindOf } from './describe-value.js'
import { closingQuote, dataProblem, MAX_DATA_DEPTH, nestsDeeperThan } from './json-data.js'
import { PublishError } from './publish-error.js'

// Characters are read as `text[i]`: past the end it is undefined, which matches none of these,
// so no loop needs a bounds check of its own.
const QUOTE = '"'
const BACKSLASH = '\\'
const COMMA = ','
const OPEN_BRACE = '{'
const CLOSE_BRACE = '}'
const OPEN_BRACKET = '['
const CLOSE_BRACKET = ']'
/** A byte order mark, which the UTF-8 decoder strips; skipped here too, if one is left. */
const BOM = '\ufeff'

/** The compact source text of a JSON value. */
export function compactJson(text: string): string {
  const scanner = new Scanner(text)
  scanner.skipSpace()
  return scanner.value(true)
}

/**
 * The compact source text of member `name` of the object `text` holds (its last
 * one), or `undefined` if the text is not an object or has no such member.
 */
export function memberText(text: string, name: string): string | undefined {
  const scanner = new Scanner(text)
  scanner.skipSpace()
  return scanner.at(OPEN_BRACE) ? scanner.member(name, () => scanner.value(true)) : undefined
}

/**
 * For the array that is member `arrayName` of the object `text` holds (its last
 * one), the compact source text of member `name` of each item, `undefined` for
 * an item that is not an object or has no such member. `undefined` if there is
 * no such array.
 */
export function itemMemberTexts(text: string, arrayName: string, name: string): Array<string | undefined> | undefined {
  const scanner = new Scanner(text)
  scanner.skipSpace()
  if (!scanner.at(OPEN_BRACE)) return undefined
  return scanner.member(arrayName, () => {
    if (scanner.at(OPEN_BRACKET)) return scanner.itemMembers(name)
    scanner.value(false)
    return undefined
  })
}

/**
 * A member name the object `text` holds twice, or that an object item of its array member
 * `arrayName` (if one is named) holds twice, as a path (`user`, `messages[2].user`); `undefined` if there is none.
 * JSON.parse keeps the last of such members, while a proxy or validator in front of the gateway
 * may read the first: the two would disagree on where a publish goes.
 */
export function duplicateMember(text: string, arrayName?: string): string | undefined {
  const scanner = new Scanner(text)
  scanner.skipSpace()
  return scanner.at(OPEN_BRACE) ? scanner.duplicateMember(arrayName) : undefined
}

class Scanner {
  readonly #text: string
  #pos = 0

  constructor(text: string) {
    this.#text = text
    if (text[0] === BOM) this.#pos = 1
  }

  at(char: string): boolean {
    return this.#text[this.#pos] === char
  }

  skipSpace(): void {
    const text = this.#text
    let i = this.#pos
    while (isSpace(text[i])) i++
    this.#pos = i
  }

  /**
   * Moves past the value that starts here. With `compact`, returns its text
   * without the whitespace between tokens (else the empty string).
   */
  value(compact: boolean): string {
    const text = this.#text
    const start = this.#pos
    const first = text[start]
    if (first === QUOTE) {
      this.#pos = stringEnd(text, start)
      return compact ? text.slice(start, this.#pos) : ''
    }
    let i = start
    if (first === OPEN_BRACE || first === OPEN_BRACKET) {
      // Compact text so far, up to `copied`; the rest is copied in slices at each gap.
      let out = ''
      let copied = start
      let depth = 0
      while (i < text.length) {
        const char = text[i]
        if (char === QUOTE) {
          i = stringEnd(text, i)
          continue
        }
        if (char === OPEN_BRACE || char === OPEN_BRACKET) depth++
        else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
          if (--depth === 0) {
            i++
            break
          }
        } else if (compact && isSpace(char)) {
          out += text.slice(copied, i)
          do i++
          while (isSpace(text[i]))
          copied = i
          continue
        }
        i++
      }
      this.#pos = i
      if (!compact) return ''
      return copied === start ? text.slice(start, i) : out + text.slice(copied, i)
    }
    // A number, true, false or null: up to the next delimiter.
    while (i < text.length) {
      const char = text[i]
      if (char === COMMA || char === CLOSE_BRACE || char === CLOSE_BRACKET || isSpace(char)) break
      i++
    }
    this.#pos = i
    return compact ? text.slice(start, i) : ''
  }

  /**
   * Walks the object that starts here. For each member, `visit` gets its key's quoted text as
   * `text[keyStart, keyEnd)`, with the scanner at the value's first character, and must move
   * past the value; a result other than `undefined` stops the walk and is returned. Otherwise
   * the walk ends past the object's end.
   */
  members<T>(visit: (keyStart: number, keyEnd: number) => T | undefined): T | undefined {
    const text = this.#text
    this.#pos++ // {
    this.skipSpace()
    if (this.at(CLOSE_BRACE)) {
      this.#pos++
      return undefined
    }
    while (this.#pos < text.length) {
      this.skipSpace()
      const keyStart = this.#pos
      const keyEnd = stringEnd(text, keyStart)
      this.#pos = keyEnd
      this.skipSpace()
      this.#pos++ // :
      this.skipSpace()
      const result = visit(keyStart, keyEnd)
      if (result !== undefined) return result
      this.skipSpace()
      if (text[this.#pos++] !== COMMA) break // }
    }
    return undefined
  }

  /**
   * Walks the array that starts here, as {@link members} walks an object: `visit` gets each
   * item's index, with the scanner at its first character.
   */
  items<T>(visit: (index: number) => T | undefined): T | undefined {
    const text = this.#text
    this.#pos++ // [
    this.skipSpace()
    if (this.at(CLOSE_BRACKET)) {
      this.#pos++
      return undefined
    }
    for (let index = 0; this.#pos < text.length; index++) {
      this.skipSpace()
      const result = visit(index)
      if (result !== undefined) return result
      this.skipSpace()
      if (text[this.#pos++] !== COMMA) break // ]
    }
    return undefined
  }

  /**
   * Walks the object that starts here, to past its end. For each member named
   * `name`, `read` reads its value (from its first character to past its end);
   * returns what it read for the last one, or `undefined` if there is none.
   */
  member<T>(name: string, read: () => T): T | undefined {
    let found: T | undefined
    this.members((keyStart, keyEnd) => {
      if (keyIs(this.#text, keyStart, keyEnd, name)) found = read()
      else this.value(false)
      return undefined
    })
    return found
  }

  /**
   * Walks the object that starts here until a member name comes twice, and returns it; with
   * `arrayName`, also looks into the object items of the array member of that name.
   */
  duplicateMember(arrayName?: string): string | undefined {
    const names = new Set<string>()
    return this.members((keyStart, keyEnd) => {
      const name = keyName(this.#text, keyStart, keyEnd)
      if (names.has(name)) return name
      names.add(name)
      if (name === arrayName && this.at(OPEN_BRACKET)) {
        const inItem = this.items((index) => {
          if (!this.at(OPEN_BRACE)) {
            this.value(false)
            return undefined
          }
          const duplicate = this.duplicateMember()
          return duplicate === undefined ? undefined : `[${index}].${duplicate}`
        })
        if (inItem !== undefined) return `${name}${inItem}`
      } else this.value(false)
      return undefined
    })
  }

  /** Walks the array that starts here, to past its end: for each item, its member `name`'s text. */
  itemMembers(name: string): Array<string | undefined> {
    const texts: Array<string | undefined> = []
    const read = () => this.value(true)
    this.items(() => {
      if (this.at(OPEN_BRACE)) texts.push(this.member(name, read))
      else {
        this.value(false)
        texts.push(undefined)
      }
      return undefined
    })
    return texts
  }
}

/** JSON's whitespace; undefined (past the end) is not. */
function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\n' || char === '\r' || char === '\t'
}

/** Past the closing quote of the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  return closingQuote(text, start) + 1
}

/** The key whose quoted text is `text[start, end)`, decoded only if it holds an escape. */
function keyName(text: string, start: number, end: number): string {
  const key = text.slice(start + 1, end - 1)
  return key.includes(BACKSLASH) ? (JSON.parse(text.slice(start, end)) as string) : key
}

/** Whether the key whose quoted text is `text[start, end)` is `name` (which needs no escapes). */
function keyIs(text: string, start: number, end: number, name: string): boolean {
  const length = end - start - 2
  if (length === name.length) return text.startsWith(name, start + 1)
  // Escapes make the text longer than the key (`"d\u0061ta"` is "data"); rare, so decoded here.
  if (length < name.length) return false
  for (let i = start + 1; i < end - 1; i++) {
    if (text[i] === BACKSLASH) return JSON.parse(text.slice(start, end)) === name
  }
  return false
}

/**
 * A `\u` escape for half of a UTF-16 surrogate pair without the other half next to it, in
 * either case (`\uD800`); or any other escape, matched so that the text is read escape by
 * escape (`\\ud800` is a backslash, then `ud800`). Valid JSON has backslashes only in strings.
 */
const SURROGATE_ESCAPE = /\\(?:ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|(ud[89a-f][0-9a-f]{2})|.)/gi

/**
 * Whether a string or key in the JSON text holds an unpaired surrogate written as an escape
 * (a raw one cannot come out of strict UTF-8 decoding). Unlike a check of the parsed value,
 * this also sees the values of duplicate keys, which JSON.parse drops but the text keeps.
 */
export function hasLoneSurrogateEscape(text: string): boolean {
  if (!text.includes('\\u')) return false
  for (const match of text.matchAll(SURROGATE_ESCAPE)) if (match[1] !== undefined) return true
  return false
}

/**
 * Source text that could hold what dataProblem refuses. A lone surrogate needs a `\u`
 * escape: strict UTF-8 decoding makes none. A number that JSON.parse reads as Infinity
 * needs an exponent or at least 309 digits. Matches in strings only cost the full check.
 */
const MIGHT_HIDE_PROBLEM = /\\u|[0-9][eE]|(?:^|[^0-9])[0-9]{309}/
/** dataProblem's answer for a lone surrogate, worded the same wherever it is found. */
const LONE_SURROGATE_PROBLEM = dataProblem('\ud800', '"\\ud800"')!

/**
 * Why data written as JSON text (a publish body's `data`, the CLI's `--data`) cannot be
 * published as written, or `undefined` if it can; `data` is what JSON.parse made of `source`.
 * The answer completes a sentence about the data, as dataProblem's does. The SDK's rules, so
 * both brokers store (or refuse) the same, checked on the text that is stored: it also holds
 * the values of duplicate keys that JSON.parse dropped, which Redis's functions read. Only
 * source that could hide a problem is re-serialised for the full check.
 */
export function sourceDataProblem(data: unknown, source: string): string | undefined {
  if (nestsDeeperThan(source, MAX_DATA_DEPTH)) return `must not nest deeper than ${MAX_DATA_DEPTH} levels`
  if (!MIGHT_HIDE_PROBLEM.test(source)) return undefined
  return (
    dataProblem(data, JSON.stringify(data)) ?? (hasLoneSurrogateEscape(source) ? LONE_SURROGATE_PROBLEM : undefined)
  )
}

/**
 * Data given as JSON text, published as written, only compact: numbers keep every digit, where
 * JSON.parse then JSON.stringify would round 12345678901234567890 and turn 1.0 into 1. For JSON
 * that arrives as text (the CLI's `--data`, a payload passed through). Checked when made, by the
 * rules all data is checked by.
 */
export class JsonText {
  /** The compact text that is published. */
  readonly text: string

  constructor(source: string) {
    if (typeof source !== 'string') {
      throw new PublishError('HERALD_ERR_INVALID', `data must be JSON text, a string, not ${kindOf(source)}`)
    }
    // A raw one, not an escape: it has no UTF-8 form, and Redis would store U+FFFD for it.
    if (/\p{Cs}/u.test(source)) throw new PublishError('HERALD_ERR_INVALID', `data ${LONE_SURROGATE_PROBLEM}`)
    let value: unknown
    try {
      value = JSON.parse(source)
    } catch (error) {
      throw new PublishError('HERALD_ERR_INVALID', `data must be JSON text: ${(error as Error).message}`)
    }
    this.text = compactJson(source)
    const problem = sourceDataProblem(value, this.text)
    if (problem !== undefined) throw new PublishError('HERALD_ERR_INVALID', `data ${problem}`)
  }
}
