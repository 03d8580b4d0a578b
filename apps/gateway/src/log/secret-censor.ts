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
    const decoded = decodeLoosely(censored)
    return values.some((secret) => decoded.includes(secret)) ? CENSORED : censored
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

/** Percent-decoded, `+` as a space, as a query is read; the text as it is when it is malformed. */
export function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return text
  }
}
