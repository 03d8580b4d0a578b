/**
 * One error type for everything Herald reports to a client or an operator.
 * Each carries a stable code (like undici's `UND_ERR_*`) that logs, dashboards
 * and clients can match on; the HTTP status follows from the code alone.
 */

export const ERROR_STATUS = {
  HERALD_ERR_TOKEN_MISSING: 401,
  HERALD_ERR_TOKEN_MALFORMED: 401,
  HERALD_ERR_TOKEN_SIGNATURE: 401,
  HERALD_ERR_TOKEN_EXPIRED: 401,
  HERALD_ERR_TOKEN_ALGORITHM: 401,
  HERALD_ERR_TOKEN_CLAIM: 401,
  HERALD_ERR_TOKEN_KEY_UNKNOWN: 401,
  HERALD_ERR_PUBLISH_KEY_MISSING: 401,
  HERALD_ERR_PUBLISH_KEY_INVALID: 401,
  HERALD_ERR_TOPIC_FORBIDDEN: 403,
  HERALD_ERR_HOST_FORBIDDEN: 403,
  HERALD_ERR_TOPIC_INVALID: 400,
  HERALD_ERR_BODY_INVALID: 400,
  HERALD_ERR_BODY_TOO_LARGE: 413,
  HERALD_ERR_BODY_INCOMPLETE: 400,
  HERALD_ERR_MEDIA_TYPE: 415,
  HERALD_ERR_BAD_REQUEST: 400,
  HERALD_ERR_REQUEST_TIMEOUT: 408,
  HERALD_ERR_EXPECTATION_FAILED: 417,
  HERALD_ERR_HEADERS_TOO_LARGE: 431,
  HERALD_ERR_NOT_FOUND: 404,
  HERALD_ERR_METHOD_NOT_ALLOWED: 405,
  HERALD_ERR_BROKER_UNAVAILABLE: 503,
  HERALD_ERR_NOT_REPLICATED: 503,
  /** Internal: never sent; the events route sheds the stream with `keys_unavailable` instead. */
  HERALD_ERR_KEYS_UNAVAILABLE: 503,
  HERALD_ERR_INTERNAL: 500,
} as const

export type HeraldErrorCode = keyof typeof ERROR_STATUS

export class HeraldError extends Error {
  override readonly name = 'HeraldError'

  constructor(
    readonly code: HeraldErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }

  get status(): (typeof ERROR_STATUS)[HeraldErrorCode] {
    return ERROR_STATUS[this.code]
  }

  /** The JSON body clients receive: `{"error": {"code", "message"}}`. */
  toJSON(): { error: { code: HeraldErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } }
  }
}

/** Raised at startup; names the variable so the operator knows what to fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'HERALD_ERR_CONFIG'

  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
  }
}
