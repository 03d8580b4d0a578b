/**
 * One JWKS fetch, for jose's remote key set (token-verifier.ts): the body is
 * read here, at most {@link MAX_KEY_SET_BYTES} of it, under the fetch's own
 * abort signal (jose's timeout, which so covers the whole body too), and
 * handed to jose as read. jose reads whatever comes: a 90 MB set took a node
 * from 78 MB to 742 MB and stayed cached. A set over the bound is a failed
 * fetch, like a 500: streams get `keys_unavailable`, the outage is logged.
 */

/** The largest JWKS body taken: a key set holds a few keys, each well under 4 KiB. */
export const MAX_KEY_SET_BYTES = 1024 * 1024

/** How long a key set fetch may take in all, from the request to the last byte of the body. */
export const KEY_SET_FETCH_TIMEOUT_MS = 5_000

export interface FetchedKeySet {
  /** What jose reads: the answer as it came, with the body already read. */
  readonly response: Response
  /** A 200 whose body is a key set as jose will read it: `keys`, an array of objects. */
  readonly usable: boolean
}

export async function fetchKeySet(
  url: string,
  init: RequestInit,
  maxBytes = MAX_KEY_SET_BYTES,
): Promise<FetchedKeySet> {
  const response = await fetch(url, init)
  if (response.status !== 200) {
    // Not read by jose either (it refuses any other status), so not kept waiting on.
    await response.body?.cancel().catch(() => {})
    return { response, usable: false }
  }
  const text = await readBounded(response, maxBytes)
  const answer = new Response(text, { status: response.status, headers: response.headers })
  return { response: answer, usable: isKeySet(text) }
}

/** The body as text; throws once it has more than `maxBytes`, without reading the rest. */
async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new Error(`the key set is larger than ${maxBytes} bytes`)
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw tooLarge()
  }
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.byteLength
    if (length > maxBytes) {
      await reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, length).toString('utf8')
}

function isKeySet(text: string): boolean {
  try {
    const body = JSON.parse(text) as { keys?: unknown } | null
    return Array.isArray(body?.keys) && body.keys.every(isPlainObject)
  } catch {
    return false
  }
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
