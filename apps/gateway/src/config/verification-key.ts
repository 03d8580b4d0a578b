/**
 * The JWT verification key, parsed at startup, with the algorithms allowed
 * for its type. Allowlisting per key type is what stops `alg: none` and
 * HS/RS confusion: an RSA public key is never accepted as an HMAC secret.
 */

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'

export type VerificationKeyConfig =
  | { readonly kind: 'secret'; readonly secret: Uint8Array; readonly algorithms: readonly string[] }
  | { readonly kind: 'public-key'; readonly key: KeyObject; readonly algorithms: readonly string[] }
  | { readonly kind: 'jwks'; readonly url: URL; readonly algorithms: readonly string[] }

const HMAC = ['HS256', 'HS384', 'HS512']
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const EC_BY_CURVE: Readonly<Record<string, string>> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
}
const ASYMMETRIC = [...RSA, 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']
/** HS256 keys shorter than the hash output are brute-forceable (RFC 7518 §3.2). */
const MIN_SECRET_BYTES = 32
/** RFC 7518 §3.3, and jose refuses smaller RSA keys. */
export const MIN_RSA_BITS = 2048

interface KeySources {
  readonly secret: string | undefined
  readonly publicKey: string | undefined
  readonly jwksUrl: string | undefined
}

export function parseVerificationKey(
  sources: KeySources,
  problem: (variable: string, message: string) => void,
): VerificationKeyConfig | undefined {
  if (sources.secret !== undefined) {
    const secret = new TextEncoder().encode(sources.secret)
    if (secret.byteLength < MIN_SECRET_BYTES) {
      problem('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes for HS256`)
      return undefined
    }
    return { kind: 'secret', secret, algorithms: HMAC }
  }
  if (sources.publicKey !== undefined) return parsePublicKey(sources.publicKey, problem)
  if (sources.jwksUrl !== undefined) {
    let url: URL
    try {
      url = new URL(sources.jwksUrl)
    } catch {
      problem('JWT_JWKS_URL', 'must be an absolute http(s) URL')
      return undefined
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      problem('JWT_JWKS_URL', 'must be an http(s) URL')
      return undefined
    }
    // fetch refuses a URL with credentials, so every key lookup would fail, for good.
    if (url.username !== '' || url.password !== '') {
      problem('JWT_JWKS_URL', 'must not carry a user name or password (fetch refuses such URLs)')
      return undefined
    }
    // fetch drops it: whatever it was meant to select, it selects nothing (REDIS_URL refuses one too).
    // Read from the text: a bare trailing `#` leaves `url.hash` empty.
    if (sources.jwksUrl.includes('#')) {
      problem('JWT_JWKS_URL', 'must not carry a #fragment (fetch never sends it)')
      return undefined
    }
    return { kind: 'jwks', url, algorithms: ASYMMETRIC }
  }
  return undefined
}

function parsePublicKey(
  pem: string,
  problem: (variable: string, message: string) => void,
): VerificationKeyConfig | undefined {
  // Env files and Secrets often carry PEM with literal "\n".
  const text = pem.replace(/\\n/g, '\n')
  // createPublicKey takes a private key too, deriving its public half, which would leave the
  // signing key in this process's environment (and anything that dumps it) unnoticed. The
  // header catches an encrypted one, which createPrivateKey cannot open without its passphrase.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text) || isPrivateKey(text)) {
    problem('JWT_PUBLIC_KEY', 'is a private key; give the public key only (openssl pkey -pubout)')
    return undefined
  }
  // createPublicKey reads the first block and ignores the rest: an old and a new key pasted
  // together for a rotation started a node that turned away every token of the second.
  const blocks = text.match(/-----BEGIN [A-Z0-9 ]+-----/g)?.length ?? 0
  if (blocks > 1) {
    problem('JWT_PUBLIC_KEY', `holds ${blocks} PEM blocks; give one key (to rotate keys, serve them at JWT_JWKS_URL)`)
    return undefined
  }
  // createPublicKey ignores what follows the END line: a value cut or pasted into the wrong
  // place (the next variable run on) starts a node with a key nobody checked was whole.
  const after = /-----END [A-Z0-9 ]+-----([\s\S]*)$/.exec(text)?.[1]
  if (after !== undefined && after.trim() !== '') {
    problem('JWT_PUBLIC_KEY', 'has text after its "-----END" line; give the PEM block alone')
    return undefined
  }
  let key: KeyObject
  try {
    key = createPublicKey(text)
  } catch {
    // A path is the common mistake: the variable takes the key's text, not its file.
    const path = !text.includes('-----') && /^\.{0,2}\/|\.pem$/.test(text.trim())
    problem(
      'JWT_PUBLIC_KEY',
      path
        ? 'is not a PEM public key; it looks like a file path: give the key\'s text, for example JWT_PUBLIC_KEY="$(cat public.pem)"'
        : 'is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----" or "-----BEGIN RSA PUBLIC KEY-----")',
    )
    return undefined
  }
  const type = key.asymmetricKeyType
  // jose refuses to verify with a smaller RSA key: every token would be turned away.
  const modulusLength = key.asymmetricKeyDetails?.modulusLength
  if ((type === 'rsa' || type === 'rsa-pss') && modulusLength !== undefined && modulusLength < MIN_RSA_BITS) {
    problem('JWT_PUBLIC_KEY', `is a ${modulusLength}-bit RSA key; RSA keys must have at least ${MIN_RSA_BITS} bits`)
    return undefined
  }
  if (type === 'rsa') return { kind: 'public-key', key, algorithms: RSA }
  if (type === 'rsa-pss') return rsaPssKey(key, problem)
  if (type === 'ed25519') return { kind: 'public-key', key, algorithms: ['EdDSA', 'Ed25519'] }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    const algorithm = curve === undefined ? undefined : EC_BY_CURVE[normaliseCurve(curve)]
    if (algorithm !== undefined) return { kind: 'public-key', key, algorithms: [algorithm] }
    problem('JWT_PUBLIC_KEY', `is an EC key on the unsupported curve ${curve ?? 'unknown'} (use P-256, P-384 or P-521)`)
    return undefined
  }
  problem('JWT_PUBLIC_KEY', `unsupported key type ${type ?? 'unknown'} (use RSA, EC P-256/384/521 or Ed25519)`)
  return undefined
}

/** The hash each PS algorithm uses, for the message and MGF1 alike, and its salt length (RFC 7518 §3.5). */
const PSS_BY_HASH: Readonly<Record<string, { readonly algorithm: string; readonly saltLength: number }>> = {
  sha256: { algorithm: 'PS256', saltLength: 32 },
  sha384: { algorithm: 'PS384', saltLength: 48 },
  sha512: { algorithm: 'PS512', saltLength: 64 },
}

/**
 * An RSA-PSS key (OID id-RSASSA-PSS) cannot be handed to jose on Node 20: jose turns a KeyObject
 * into a JWK there, which Node cannot do for rsa-pss (ERR_CRYPTO_JWK_UNSUPPORTED_KEY_TYPE), and
 * Node 20's WebCrypto will not import such an SPKI either; every token would be refused. Its
 * modulus and exponent are a plain RSA key, which jose verifies PS256/384/512 with. What the key
 * restricts (hash, MGF1 hash, least salt length) is kept by allowing only the PS algorithm that
 * meets it; a key no PS algorithm meets could never verify a token, and stops startup.
 */
function rsaPssKey(
  key: KeyObject,
  problem: (variable: string, message: string) => void,
): VerificationKeyConfig | undefined {
  const details = key.asymmetricKeyDetails ?? {}
  const { hashAlgorithm, mgf1HashAlgorithm, saltLength } = details
  let algorithms = ['PS256', 'PS384', 'PS512']
  if (hashAlgorithm !== undefined || mgf1HashAlgorithm !== undefined || saltLength !== undefined) {
    const pss = hashAlgorithm === undefined ? undefined : PSS_BY_HASH[hashAlgorithm]
    if (
      pss === undefined ||
      (mgf1HashAlgorithm ?? hashAlgorithm) !== hashAlgorithm ||
      (saltLength ?? 0) > pss.saltLength
    ) {
      problem(
        'JWT_PUBLIC_KEY',
        `is an RSA-PSS key restricted to hash ${hashAlgorithm ?? '?'}, MGF1 ${mgf1HashAlgorithm ?? '?'}, salt of at least ${saltLength ?? 0} bytes, which no JWT algorithm meets (PS256/384/512 use SHA-256/384/512 for both, with a salt as long as the hash)`,
      )
      return undefined
    }
    algorithms = [pss.algorithm]
  }
  let rsa: KeyObject
  try {
    rsa = createPublicKey({
      key: rsaPublicKeyOf(key.export({ type: 'spki', format: 'der' })),
      format: 'der',
      type: 'pkcs1',
    })
  } catch {
    problem('JWT_PUBLIC_KEY', 'is an RSA-PSS key whose SubjectPublicKeyInfo cannot be read')
    return undefined
  }
  return { kind: 'public-key', key: rsa, algorithms }
}

/** The RSAPublicKey (PKCS#1) inside a SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING }. */
function rsaPublicKeyOf(spki: Buffer): Buffer {
  const outer = derElement(spki, 0, 0x30)
  const algorithm = derElement(spki, outer.start, 0x30)
  const bits = derElement(spki, algorithm.end, 0x03)
  // A BIT STRING's first byte counts the unused bits of its last byte: 0 for a DER structure.
  if (spki[bits.start] !== 0) throw new Error('the key bits are not whole bytes')
  return spki.subarray(bits.start + 1, bits.end)
}

function derElement(der: Buffer, offset: number, tag: number): { start: number; end: number } {
  if (der[offset] !== tag) throw new Error(`expected DER tag ${tag} at ${offset}`)
  let length = der[offset + 1] ?? 0
  let start = offset + 2
  if (length & 0x80) {
    const octets = length & 0x7f
    length = 0
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start + i] ?? 0)
    start += octets
  }
  if (start + length > der.length) throw new Error('DER element runs past the end')
  return { start, end: start + length }
}

function isPrivateKey(text: string): boolean {
  try {
    createPrivateKey(text)
    return true
  } catch {
    return false
  }
}

function normaliseCurve(curve: string): string {
  const names: Readonly<Record<string, string>> = {
    prime256v1: 'P-256',
    secp384r1: 'P-384',
    secp521r1: 'P-521',
  }
  return names[curve] ?? curve
}
