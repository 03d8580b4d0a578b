/**
 * Typed reads of environment variables that record problems instead of
 * throwing, so startup can report every bad variable at once.
 */

import { ConfigError } from '../errors/herald-error.js'
import type { Environment } from './config.js'

/**
 * A value as a problem quotes it: whole when short, else its start and its length. Every problem
 * is printed together on stderr, and a few 100 KB values (a file pasted into a variable) ran past
 * what a pipe holds, and the problems after them were lost on the way out.
 */
export function quoted(value: string): string {
  return value.length <= QUOTED_WHOLE_MAX
    ? JSON.stringify(value)
    : `${JSON.stringify(value.slice(0, QUOTED_START_LENGTH))}… (${value.length} characters)`
}

const QUOTED_WHOLE_MAX = 100
const QUOTED_START_LENGTH = 40

export interface IntegerRule {
  readonly default: number
  readonly min: number
  readonly max?: number
}

export function createEnvReader(env: Environment) {
  const problems: ConfigError[] = []
  /** Every variable name read, set or not: what a misspelt one is compared with. */
  const asked = new Set<string>()
  const problem = (variable: string, message: string): void => {
    problems.push(new ConfigError(variable, message))
  }
  const string = (name: string): string | undefined => {
    asked.add(name)
    const value = env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  return {
    problems,
    asked,
    problem,
    string,
    /**
     * A comma-separated list; unset is empty. An empty item is a problem, not dropped: `a,,b`
     * was meant to say three things, and the message must not quote what may be a key.
     */
    list(name: string): string[] {
      const text = string(name)
      if (text === undefined) return []
      const items = text.split(',').map((item) => item.trim())
      if (items.includes('')) problem(name, 'has an empty entry (a comma at either end, or two in a row)')
      return items.filter((item) => item !== '')
    },
    /** `true` or `false` (any case); unset is `fallback`. */
    boolean(name: string, fallback: boolean): boolean {
      const text = string(name)
      if (text === undefined) return fallback
      const value = text.toLowerCase()
      if (value === 'true' || value === 'false') return value === 'true'
      problem(name, `must be true or false, got ${quoted(text)}`)
      return fallback
    },
    integer(name: string, rule: IntegerRule): number {
      const text = string(name)
      if (text === undefined) return rule.default
      const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
      const max = rule.max ?? Number.MAX_SAFE_INTEGER
      if (!Number.isSafeInteger(value) || value < rule.min || value > max) {
        problem(name, `must be a whole number from ${rule.min} to ${max}, got ${quoted(text)}`)
        return rule.default
      }
      return value
    },
  }
}
