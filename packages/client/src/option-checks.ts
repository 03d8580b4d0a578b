/**
 * Checks of the client's options, before anything starts: names it does not take, and
 * optional settings it cannot use. Each setting was read as given:
 * a NaN retry delay (`Number(import.meta.env.X)` with the variable unset) made
 * `setTimeout(fn, NaN)`, which fires at once, so a gateway that could not be reached got
 * about 800 attempts a second from every tab; a NaN token timeout timed every getToken out,
 * and the client sat `connecting` with no error; an unknown transport streamed with fetch.
 */

import type { HeraldClientOptions } from './client-options.js'

/** Browsers and Node fire a timer of more than 2^31 − 1 ms at once, as if it were 0. */
const MAX_TIMER_MS = 2_147_483_647

/** The options as given, of any type: what a caller wrote in plain JavaScript, or cast. */
export type OptionValues = { readonly [name in keyof HeraldClientOptions]?: unknown }

/** Every option's name: a record, so an option added to the type and not here fails to compile. */
const OPTION_NAMES: Record<keyof HeraldClientOptions, null> = {
  url: null,
  getToken: null,
  tokenTimeoutMs: null,
  topics: null,
  types: null,
  transport: null,
  shareAcrossTabs: null,
  initialRetryMs: null,
  maxRetryMs: null,
  storage: null,
}

const DURATIONS = ['tokenTimeoutMs', 'initialRetryMs', 'maxRetryMs'] as const
const TRANSPORTS: readonly unknown[] = ['auto', 'fetch', 'eventsource']

const isStringArray = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string')

/** What is wrong with the options, as a TypeError's message, or undefined if nothing is. */
export function optionProblem(options: OptionValues): string | undefined {
  // Ignored, a misspelt option would leave its default in place without a word (`topic` for
  // `topics`: a stream without the topics); TypeScript catches it only in an object literal.
  const unknown = Object.keys(options).find((name) => !Object.hasOwn(OPTION_NAMES, name))
  if (unknown !== undefined) {
    return `HeraldClient has no option ${JSON.stringify(unknown)} (it takes ${Object.keys(OPTION_NAMES).join(', ')})`
  }
  for (const name of DURATIONS) {
    const value = options[name]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_TIMER_MS) {
      return `HeraldClient ${name} must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, not ${describe(value)}`
    }
  }
  if (options.topics !== undefined && !isStringArray(options.topics)) {
    return 'HeraldClient topics must be an array of topic names (strings)'
  }
  if (options.types !== undefined && !isStringArray(options.types)) {
    return 'HeraldClient types must be an array of notification types (strings)'
  }
  if (options.transport !== undefined && !TRANSPORTS.includes(options.transport)) {
    return `HeraldClient transport must be 'auto', 'fetch' or 'eventsource', not ${describe(options.transport)}`
  }
  if (options.shareAcrossTabs !== undefined && typeof options.shareAcrossTabs !== 'boolean') {
    return `HeraldClient shareAcrossTabs must be true or false, not ${describe(options.shareAcrossTabs)}`
  }
  return undefined
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}
