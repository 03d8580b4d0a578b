/**
 * Calls the app's `getToken`. Callers that ask at the same time (start and
 * the first connect, a refresh racing a reconnect) share one call. Each call
 * is bounded: a token endpoint that never answers must not stall the client
 * for good, so after `timeoutMs` the call counts as failed and the next ask
 * calls `getToken` again (an answer that comes later is ignored). A value
 * that is not a string is a failed call too, reported as the app's bug.
 */

export class TokenSource {
  #pending: Promise<string> | undefined

  constructor(
    private readonly getToken: () => string | Promise<string>,
    private readonly timeoutMs: number,
    /** Told about a getToken that returned something other than a string. */
    private readonly reportInvalid: (error: TypeError) => void,
  ) {}

  /** The next token; rejects when getToken throws, rejects, times out or returns a non-string. */
  next(): Promise<string> {
    this.#pending ??= this.#call().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #call(): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`getToken did not settle within ${this.timeoutMs} ms`)), this.timeoutMs)
    })
    try {
      const token: unknown = await Promise.race([Promise.resolve().then(() => this.getToken()), timedOut])
      if (typeof token !== 'string') {
        const error = new TypeError(`getToken must return a string (a JWT), got ${describe(token)}`)
        this.reportInvalid(error)
        throw error
      }
      return token
    } finally {
      clearTimeout(timer)
    }
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
}
