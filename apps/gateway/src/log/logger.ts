/**
 * The pino logger. Herald never logs headers or query strings, but redaction
 * is the second line of defence: any field that could carry a credential is
 * censored wherever it appears.
 */

import { type DestinationStream, type Logger, pino } from 'pino'
import type { LogLevel } from '../config/config.js'

const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'access_token',
  '*.access_token',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
]

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'herald-gateway' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  )
}

/** A URL safe to log: the path, and the query with every credential-bearing parameter censored. */
export function redactUrl(url: string): string {
  const question = url.indexOf('?')
  if (question < 0) return url
  const query = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0] ?? ''
      return /token|key|secret|password|auth/i.test(name) ? `${name}=[redacted]` : pair
    })
    .join('&')
  return `${url.slice(0, question)}?${query}`
}
