/**
 * Censors the configured secrets (the publish keys, the JWT secret) by value, in every string
 * field of a log line. Redaction by name (logger.ts) cannot tell a publish key that a client put
 * in a query parameter of any name or in a path segment (`/v1/publish?k=<key>`, `/<key>`), and
 * the access log writes the URL it was sent.
 */

const CENSORED = '[redacted]'

/** Each occurrence of a secret replaced; the whole text when only its percent-decoded form holds one. */
export type SecretCensor = (text: string) => string

export function secretCensor(secrets: readonly string[]): SecretCensor | undefined {
  const values = secrets.filter((secret) => secret.length > 0)
  if (values.length === 0) return undefined
  return (text) => {
    let censored = text
    for (const secret of values) if (censored.includes(secret)) censored = censored.split(secret).join(CENSORED)
    if (!censored.includes('%') && !censored.includes('+')) return censored
    // `%6Bey`, or `+` read as a space: spelt apart, a key still reaches the server whole.
    const forms = decodedForms(censored)
    return forms.some((form) => values.some((secret) => form.includes(secret))) ? CENSORED : censored
  }
}

/** A log line's fields with every string censored; the same object when none held a secret. */
export function censorFields(fields: Record<string, unknown>, censor: SecretCensor): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined
  for (const name in fields) {
    const value = fields[name]
    if (typeof value !== 'string') continue
    const censored = censor(value)
    if (censored === value) continue
    copy ??= { ...fields }
    copy[name] = censored
  }
  return copy ?? fields
}

/** How many times a logged text is decoded: a reader of the log decodes as often as it takes. */
const MAX_DECODINGS = 4

/**
 * The text percent-decoded, `+` as a space, as a query is read; then decoded again while that
 * changes it (at most {@link MAX_DECODINGS} times in all): a client that encoded twice (`%252E`)
 * sends nothing the server reads as a credential, but the log would still hold one for anyone
 * who decodes it.
 */
export function decodedForms(text: string): string[] {
  const forms: string[] = []
  let current = text
  while (forms.length < MAX_DECODINGS && (current.includes('%') || current.includes('+'))) {
    const next = decodeLoosely(current)
    if (next === current) break
    forms.push(next)
    current = next
  }
  return forms
}

/** Each run of `%XX` escapes decoded on its own, so one malformed escape hides none of the rest. */
function decodeLoosely(text: string): string {
  return text.replace(/\+/g, ' ').replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })
}
