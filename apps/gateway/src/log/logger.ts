/**
 * The pino logger. Herald never logs headers or query strings, but redaction
 * is the second line of defence: any field that could carry a credential is
 * censored wherever it appears.
 */

import { type DestinationStream, type Logger, pino } from 'pino'
import type { LogLevel } from '../config/config.js'
import { censorFields, decodedForms, secretCensor } from './secret-censor.js'
import { StdoutLog } from './stdout-log.js'

export { StdoutLog } from './stdout-log.js'

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

/** `secrets` are censored by value in every string field of every line (secret-censor.ts). */
export function createLogger(
  level: LogLevel,
  destination: DestinationStream = new StdoutLog(),
  secrets: readonly string[] = [],
): Logger {
  const censor = secretCensor(secrets)
  return pino(
    {
      level,
      base: { service: 'herald-gateway' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      ...(censor === undefined ? {} : { formatters: { log: (fields) => censorFields(fields, censor) } }),
    },
    destination,
  )
}

/** Parameter names that can carry a credential; `access_token` is the one the gateway reads. */
const CREDENTIAL_PARAMETER = /token|key|secret|password|auth/i

/**
 * A URL safe to log: the path, and the query with the value of every credential-bearing
 * parameter censored. Names are matched as the server reads them (URLSearchParams:
 * percent-decoded, `+` as a space), since `acc%65ss_token` is read as `access_token`.
 * Malformed queries are read the strict way: a `;` may separate parameters for some
 * parser on the way, a name can hide a token (`access_token%3D<jwt>`), and a JWT is
 * censored wherever it is; such a pair is censored whole.
 */
export function redactUrl(url: string): string {
  const question = url.indexOf('?')
  if (question < 0) return redactedPath(url)
  const query = url
    .slice(question + 1)
    .split('&')
    .map((pair) => (carriesCredential(pair) ? redactedPair(pair) : pair))
    .join('&')
  return `${redactedPath(url.slice(0, question))}?${query}`
}

/**
 * The path, unless it carries a token: a client that encoded its `?` (`/v1/events%3Faccess_token=…`),
 * used `;` parameters or put the token in a segment sends one in the path, answered 404. Then
 * only the segments before the first that could hold it are kept.
 */
function redactedPath(path: string): string {
  const holdsCredential = (form: string) =>
    JWT_LIKE.test(form) || (/[;?=]/.test(form) && CREDENTIAL_PARAMETER.test(form))
  if (!holdsCredential(path) && !(path.includes('%') && decodedForms(path).some(holdsCredential))) return path
  const starts = [path.search(/[;=%]/), path.search(JWT_LIKE)].filter((at) => at >= 0)
  const cut = starts.length === 0 ? 0 : Math.min(...starts)
  return `${path.slice(0, path.lastIndexOf('/', cut - 1) + 1)}[redacted]`
}

/**
 * Two base64url segments starting as a JSON header does: a JWT, under any name. Only where a
 * run of base64url characters starts: tried at every `eyJ` of a long run without a dot
 * (`eyJaeyJa…`, from anyone, on every request), the match took quadratic time, 150 ms for a
 * 16 KiB request line, during which the node served nothing. From a run's start it is linear.
 */
const JWT_LIKE = /(?<![\w-])eyJ[\w-]{4,}\.[\w-]{4,}/

function carriesCredential(pair: string): boolean {
  if (pair.split(';').some((part) => CREDENTIAL_PARAMETER.test(decodeName(part.split('=', 1)[0] ?? '')))) return true
  return JWT_LIKE.test(pair) || (pair.includes('%') && decodedForms(pair).some((form) => JWT_LIKE.test(form)))
}

/** `name=[redacted]` while the name itself is plain; the whole pair when the name could hold a secret. */
function redactedPair(pair: string): string {
  const name = pair.split('=', 1)[0] ?? ''
  const decoded = decodeName(name)
  const plain = !pair.includes(';') && decoded.length <= 64 && !decoded.includes('=') && !JWT_LIKE.test(decoded)
  return plain ? `${name}=[redacted]` : '[redacted]'
}

/** A raw parameter name decoded by URLSearchParams itself, so malformed `%` sequences fare as they do there. */
function decodeName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw
  for (const name of new URLSearchParams(raw).keys()) return name
  return raw
}
