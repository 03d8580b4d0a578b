import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ConfigProblems, type Environment, loadConfig } from './config.js'
import {
  connectionBudgetFromFileLimit,
  fileLimitProblem,
  readOpenFileLimit,
  socketBudgetFromFileLimit,
} from './open-file-limit.js'

const valid = { JWT_SECRET: 'x'.repeat(32), PUBLISH_API_KEY: 'k'.repeat(16) }

function problemsOf(env: Environment, argv: string[] = []): string[] {
  try {
    loadConfig({ env, argv, openFileLimit: 20_000 })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigProblems)
    return (error as ConfigProblems).problems.map((p) => p.message)
  }
  throw new Error('expected configuration problems')
}

describe('loadConfig', () => {
  it('lists variables that look like a misspelling of one it reads, and reads none of them', () => {
    const config = loadConfig({
      env: {
        ...valid,
        REDIS_URL: 'redis://127.0.0.1:6390',
        PUBLISH_WAIT_REPLICA: '1',
        LOGLEVEL: 'debug',
        HOSTNAME: 'pod-1',
      },
      argv: [],
    })
    expect(config.misspelt).toEqual([
      { name: 'PUBLISH_WAIT_REPLICA', meant: 'PUBLISH_WAIT_REPLICAS' },
      { name: 'LOGLEVEL', meant: 'LOG_LEVEL' },
    ])
    expect(config.publishWaitForReplicas).toBeUndefined()
    expect(config.logLevel).toBe('info')
    expect(loadConfig({ env: valid, argv: [] }).misspelt).toEqual([])
  })

  it('applies the documented defaults', () => {
    const config = loadConfig({ env: valid, argv: [], openFileLimit: 20_000 })
    expect(config).toMatchObject({
      dev: false,
      port: 8080,
      host: '0.0.0.0',
      redis: undefined,
      heartbeatIntervalMs: 15_000,
      maxConnections: 19_000,
      publishApiKeys: [valid.PUBLISH_API_KEY],
      logLevel: 'info',
      listenSockets: 1,
    })
    expect(config.jwt.key.kind).toBe('secret')
    expect(config.jwt.key.algorithms).toEqual(['HS256', 'HS384', 'HS512'])
    expect(config.jwt.clockToleranceSeconds).toBe(5)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('bounds what all streams hold unsent at a quarter of the heap limit, unless told', () => {
    expect(loadConfig({ env: valid, argv: [], heapSizeLimit: 2 ** 30 }).maxUnsentBytes).toBe(2 ** 28)
    expect(loadConfig({ env: { ...valid, MAX_UNSENT_BYTES: '1048576' }, argv: [] }).maxUnsentBytes).toBe(1_048_576)
    expect(problemsOf({ ...valid, MAX_UNSENT_BYTES: '1048575' })).toEqual([
      'MAX_UNSENT_BYTES: must be a whole number from 1048576 to 9007199254740991, got "1048575"',
    ])
  })

  it('waits for replicas only with Redis, and only when asked', () => {
    expect(loadConfig({ env: valid, argv: [] }).publishWaitForReplicas).toBeUndefined()
    const redis = { ...valid, REDIS_URL: 'redis://127.0.0.1:6390' }
    expect(loadConfig({ env: { ...redis, PUBLISH_WAIT_REPLICAS: '1' }, argv: [] }).publishWaitForReplicas).toEqual({
      replicas: 1,
      timeoutMs: 500,
    })
    expect(problemsOf({ ...valid, PUBLISH_WAIT_REPLICAS: '1' })).toEqual([
      'PUBLISH_WAIT_REPLICAS: needs REDIS_URL: the embedded broker has no replicas',
    ])
    expect(problemsOf({ ...redis, PUBLISH_WAIT_REPLICAS: '-1', PUBLISH_WAIT_TIMEOUT_MS: '0' })).toHaveLength(2)
  })

  it('refuses a replica timeout that waits for nothing', () => {
    const redis = { ...valid, REDIS_URL: 'redis://127.0.0.1:6390' }
    const refused = ['PUBLISH_WAIT_TIMEOUT_MS: has no effect unless PUBLISH_WAIT_REPLICAS is above 0']
    expect(problemsOf({ ...redis, PUBLISH_WAIT_TIMEOUT_MS: '2000' })).toEqual(refused)
    expect(problemsOf({ ...redis, PUBLISH_WAIT_REPLICAS: '0', PUBLISH_WAIT_TIMEOUT_MS: '2000' })).toEqual(refused)
    expect(
      loadConfig({ env: { ...redis, PUBLISH_WAIT_REPLICAS: '2', PUBLISH_WAIT_TIMEOUT_MS: '2000' }, argv: [] })
        .publishWaitForReplicas,
    ).toEqual({ replicas: 2, timeoutMs: 2000 })
  })

  it('refuses a key-set cooldown without a key set', () => {
    expect(problemsOf({ ...valid, JWT_JWKS_COOLDOWN_MS: '1000' })).toEqual([
      'JWT_JWKS_COOLDOWN_MS: has no effect unless JWT_JWKS_URL is set',
    ])
    const jwks = {
      ...valid,
      JWT_SECRET: '',
      JWT_JWKS_URL: 'https://auth.example/jwks.json',
      JWT_JWKS_COOLDOWN_MS: '1000',
    }
    expect(loadConfig({ env: jwks, argv: [] }).jwt.jwksCooldownMs).toBe(1000)
  })

  it('never starts open: without --dev a missing key and API key are named', () => {
    const problems = problemsOf({})
    expect(problems.some((p) => p.startsWith('JWT_SECRET: required'))).toBe(true)
    expect(problems.some((p) => p.startsWith('PUBLISH_API_KEY: required'))).toBe(true)
  })

  it('names which publish key is refused, without quoting it', () => {
    const key = valid.PUBLISH_API_KEY
    expect(problemsOf({ ...valid, PUBLISH_API_KEY: 'short' })).toEqual([
      'PUBLISH_API_KEY: the key must be at least 16 characters',
    ])
    expect(problemsOf({ ...valid, PUBLISH_API_KEY: `${key},short key é` })).toEqual([
      'PUBLISH_API_KEY: key 2 of 2 must be at least 16 characters',
      'PUBLISH_API_KEY: key 2 of 2 must be printable ASCII without spaces, as an HTTP header carries it',
    ])
    expect(problemsOf({ ...valid, PUBLISH_API_KEY: 'a,b,c' })).toEqual([
      'PUBLISH_API_KEY: at most two keys, comma-separated, for rotation',
      'PUBLISH_API_KEY: key 1 of 3 must be at least 16 characters',
      'PUBLISH_API_KEY: key 2 of 3 must be at least 16 characters',
      'PUBLISH_API_KEY: key 3 of 3 must be at least 16 characters',
    ])
  })

  it('refuses a publish key no request head could carry, and one equal to JWT_SECRET, without quoting either', () => {
    expect(problemsOf({ ...valid, PUBLISH_API_KEY: 'k'.repeat(4097) })).toEqual([
      'PUBLISH_API_KEY: the key must be at most 4096 characters',
    ])
    expect(loadConfig({ env: { ...valid, PUBLISH_API_KEY: 'k'.repeat(4096) }, argv: [] }).publishApiKeys).toEqual([
      'k'.repeat(4096),
    ])
    const shared = 's'.repeat(40)
    const problems = problemsOf({ JWT_SECRET: shared, PUBLISH_API_KEY: `${valid.PUBLISH_API_KEY},${shared}` })
    expect(problems).toEqual([
      "PUBLISH_API_KEY: key 2 of 2 is the same as JWT_SECRET, so a publisher could sign any user's tokens",
    ])
    expect(problems.join('\n')).not.toContain(shared)
  })

  it('refuses a list with an empty entry, which was meant to say more, without quoting it', () => {
    const key = valid.PUBLISH_API_KEY
    for (const keys of [`${key},`, `,${key}`, `${key},,${'n'.repeat(16)}`, `${key}, ,${'n'.repeat(16)}`]) {
      expect(problemsOf({ JWT_SECRET: valid.JWT_SECRET, PUBLISH_API_KEY: keys }), keys).toEqual([
        'PUBLISH_API_KEY: has an empty entry (a comma at either end, or two in a row)',
      ])
    }
    expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: 'https://app.example.com,' })).toEqual([
      'CORS_ALLOWED_ORIGINS: has an empty entry (a comma at either end, or two in a row)',
    ])
    expect(
      loadConfig({ env: { ...valid, PUBLISH_API_KEY: ` ${key} , ${'n'.repeat(16)} ` }, argv: [] }).publishApiKeys,
    ).toEqual([key, 'n'.repeat(16)])
  })

  it('censors the publish keys, the JWT secret and a Redis password long enough to tell from words', () => {
    const secretsWith = (REDIS_URL: string) => loadConfig({ env: { ...valid, REDIS_URL }, argv: [] }).secrets
    expect(secretsWith('redis://:s3cret%2Fpw@redis:6379')).toEqual([
      valid.PUBLISH_API_KEY,
      valid.JWT_SECRET,
      's3cret/pw',
    ])
    expect(secretsWith('redis+cluster://gw:cluster-pw@h1:7000,h2:7001')).toContain('cluster-pw')
    // Censored by value, "redis" would be censored in every line that names Redis.
    expect(secretsWith('redis://:redis@redis:6379')).toEqual([valid.PUBLISH_API_KEY, valid.JWT_SECRET])
    expect(secretsWith('redis://redis:6379')).toEqual([valid.PUBLISH_API_KEY, valid.JWT_SECRET])
  })

  it('with --dev, binds to loopback and generates the secrets it needs', () => {
    const config = loadConfig({ env: {}, argv: ['--dev'] })
    expect(config.dev).toBe(true)
    expect(config.host).toBe('127.0.0.1')
    expect(config.generated.jwtSecret).toMatch(/^[\w-]{43}$/)
    expect(config.publishApiKeys).toEqual([config.generated.publishApiKey])
  })

  it('keeps configured values in dev mode and generates nothing then', () => {
    const config = loadConfig({ env: { ...valid, HOST: '127.0.0.2', PORT: '9000' }, argv: ['--dev'] })
    expect(config).toMatchObject({ host: '127.0.0.2', port: 9000 })
    expect(config.generated).toEqual({})
  })

  it('in dev mode, refuses a HOST that is not loopback unless DEV_ALLOW_REMOTE=true', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.7', 'gateway.internal', '::ffff:10.0.0.7']) {
      expect(problemsOf({ HOST: host }, ['--dev']), host).toEqual([
        `HOST: --dev serves keyless publishing and token minting, so it listens on loopback only; ${host} is not loopback (set DEV_ALLOW_REMOTE=true to listen there anyway)`,
      ])
    }
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
      'LOCALHOST',
    ]) {
      expect(loadConfig({ env: { HOST: host }, argv: ['--dev'] }).host, host).toBe(host)
    }
    const remote = loadConfig({ env: { HOST: '0.0.0.0', DEV_ALLOW_REMOTE: 'true' }, argv: ['--dev'] })
    expect(remote).toMatchObject({ host: '0.0.0.0', devAllowRemote: true })
    expect(problemsOf({ HOST: '0.0.0.0', DEV_ALLOW_REMOTE: 'yes' }, ['--dev'])[0]).toMatch(
      /^DEV_ALLOW_REMOTE: must be true or false, got "yes"/,
    )
    // Outside dev mode any HOST goes, and the override means nothing, but must still be readable.
    expect(loadConfig({ env: { ...valid, HOST: '0.0.0.0' }, argv: [] }).host).toBe('0.0.0.0')
    expect(loadConfig({ env: { ...valid, DEV_ALLOW_REMOTE: 'true' }, argv: [] }).devAllowRemote).toBe(false)
    expect(problemsOf({ ...valid, DEV_ALLOW_REMOTE: 'yes' }, [])).toEqual([
      expect.stringMatching(/^DEV_ALLOW_REMOTE: must be true or false, got "yes"/),
    ])
  })

  it('refuses a HOST the resolver would read as numbers in another form than it shows', () => {
    for (const host of ['127.0.0.021', '127.21', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '0', '10.0.0.1.']) {
      expect(problemsOf({ ...valid, HOST: host }), host).toEqual([
        `HOST: ${JSON.stringify(host)} is not an IPv4 address in dotted decimal without leading zeros`,
      ])
    }
    for (const host of [
      '127.0.0.21',
      '0.0.0.0',
      '::',
      'fd00::1',
      'node1',
      '10-0-0-1.pod.local',
      'deadbeef',
      'localhost',
    ]) {
      expect(loadConfig({ env: { ...valid, HOST: host }, argv: [] }).host, host).toBe(host)
    }
  })

  it('quotes a long value by its start and length, so that every problem gets out', () => {
    const nines = '9'.repeat(100_000)
    expect(problemsOf({ ...valid, MAX_CONNECTIONS: nines, LOG_LEVEL: 'x'.repeat(101) })).toEqual([
      `LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "${'x'.repeat(40)}"… (101 characters)`,
      `MAX_CONNECTIONS: must be a whole number from 1 to 9007199254740991, got "${'9'.repeat(40)}"… (100000 characters)`,
    ])
    expect(problemsOf({ ...valid, RETRY_MS: '9'.repeat(100) })).toEqual([
      `RETRY_MS: must be a whole number from 100 to 600000, got "${'9'.repeat(100)}"`,
    ])
  })

  it('names every malformed variable at once', () => {
    const problems = problemsOf({
      ...valid,
      PORT: 'eighty',
      MAX_CONNECTIONS: '0',
      HEARTBEAT_INTERVAL_MS: '10',
      HISTORY_MAX_LEN: '-5',
      LOG_LEVEL: 'loud',
    })
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'LOG_LEVEL',
      'PORT',
      'MAX_CONNECTIONS',
      'HEARTBEAT_INTERVAL_MS',
      'HISTORY_MAX_LEN',
    ])
    expect(problemsOf({ ...valid, LOG_LEVEL: 'verbose' })).toEqual([
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ])
    // Any case, as DEV_ALLOW_REMOTE takes TRUE.
    expect(loadConfig({ env: { ...valid, LOG_LEVEL: 'DEBUG' }, argv: [] }).logLevel).toBe('debug')
  })

  it('bounds the publish body a node holds whole, above and below', () => {
    expect(loadConfig({ env: { ...valid, PUBLISH_MAX_BODY_BYTES: '67108864' }, argv: [] }).publishMaxBodyBytes).toBe(
      67_108_864,
    )
    expect(problemsOf({ ...valid, PUBLISH_MAX_BODY_BYTES: '67108865' })).toEqual([
      'PUBLISH_MAX_BODY_BYTES: must be a whole number from 1024 to 67108864, got "67108865"',
    ])
    expect(problemsOf({ ...valid, PUBLISH_MAX_BODY_BYTES: '1023' })).toHaveLength(1)
  })

  it('refuses TTLs past what the Redis functions take as given', () => {
    expect(problemsOf({ ...valid, HISTORY_TTL_SECONDS: '1000000000001', IDEMPOTENCY_TTL_SECONDS: '1e9' })).toEqual([
      'HISTORY_TTL_SECONDS: must be a whole number from 60 to 1000000000000, got "1000000000001"',
      'IDEMPOTENCY_TTL_SECONDS: must be a whole number from 1 to 1000000000000, got "1e9"',
    ])
  })

  it('validates the verification key', () => {
    expect(problemsOf({ ...valid, JWT_SECRET: 'short' })).toEqual(['JWT_SECRET: must be at least 32 bytes for HS256'])
    expect(problemsOf({ ...valid, JWT_JWKS_URL: 'https://a/jwks' })[0]).toMatch(
      /^JWT_SECRET, JWT_JWKS_URL: set exactly one/,
    )
    expect(problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: 'not a pem' })[0]).toMatch(
      /^JWT_PUBLIC_KEY: is not a PEM/,
    )
    expect(problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_JWKS_URL: 'ftp://x' })[0]).toMatch(/^JWT_JWKS_URL/)
  })

  it('refuses a key that could never verify a token, without echoing the secret in it', () => {
    const withPassword = problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_JWKS_URL: 'https://u:pw-42@a/jwks' })
    expect(withPassword).toEqual(['JWT_JWKS_URL: must not carry a user name or password (fetch refuses such URLs)'])
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString()
    expect(problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: rsa1024 })).toEqual([
      'JWT_PUBLIC_KEY: is a 1024-bit RSA key; RSA keys must have at least 2048 bits',
    ])
    // JOSE signs with P-256, P-384 and P-521 only: the curve is what is wrong, not the key type.
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString()
    expect(problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: secp256k1 })).toEqual([
      'JWT_PUBLIC_KEY: is an EC key on the unsupported curve secp256k1 (use P-256, P-384 or P-521)',
    ])
  })

  it('refuses a private key as JWT_PUBLIC_KEY, without echoing it', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const pems = [
      rsa.export({ type: 'pkcs8', format: 'pem' }).toString(),
      rsa.export({ type: 'pkcs1', format: 'pem' }).toString(),
      ec.export({ type: 'sec1', format: 'pem' }).toString(),
      // Encrypted: refused by its header, though it cannot be opened without the passphrase.
      rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(),
    ]
    for (const pem of [...pems, pems[0]!.replace(/\n/g, '\\n')]) {
      const problems = problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: pem })
      expect(problems).toEqual(['JWT_PUBLIC_KEY: is a private key; give the public key only (openssl pkey -pubout)'])
      expect(problems.join('\n')).not.toContain(pem.split('\n')[1]!)
    }
  })

  it('refuses a JWT_PUBLIC_KEY with text after its END line, and names a file path given for the key', () => {
    const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const keyOnly = { PUBLISH_API_KEY: valid.PUBLISH_API_KEY }
    expect(problemsOf({ ...keyOnly, JWT_PUBLIC_KEY: `${pem}JWT_ISSUER=https://auth.example` })).toEqual([
      'JWT_PUBLIC_KEY: has text after its "-----END" line; give the PEM block alone',
    ])
    expect(() => loadConfig({ env: { ...keyOnly, JWT_PUBLIC_KEY: `${pem}\n  \n` }, argv: [] })).not.toThrow()
    for (const path of ['/etc/herald/public.pem', './public.pem', 'keys/jwt.pem'])
      expect(problemsOf({ ...keyOnly, JWT_PUBLIC_KEY: path })).toEqual([
        'JWT_PUBLIC_KEY: is not a PEM public key; it looks like a file path: give the key\'s text, for example JWT_PUBLIC_KEY="$(cat public.pem)"',
      ])
  })

  it('refuses a JWT_JWKS_URL with a #fragment, which fetch never sends', () => {
    expect(
      problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_JWKS_URL: 'https://auth.example/jwks#k1' }),
    ).toEqual(['JWT_JWKS_URL: must not carry a #fragment (fetch never sends it)'])
  })

  it('refuses a JWT_PUBLIC_KEY of several PEM blocks, of which only the first would verify', () => {
    const pem = (type: 'ed25519' | 'ec') =>
      (type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')).publicKey
        .export({ type: 'spki', format: 'pem' })
        .toString()
    expect(problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: pem('ed25519') + pem('ec') })).toEqual([
      'JWT_PUBLIC_KEY: holds 2 PEM blocks; give one key (to rotate keys, serve them at JWT_JWKS_URL)',
    ])
  })

  it('derives allowed algorithms from the public key type', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString()
    const config = loadConfig({
      env: { PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: ec.replace(/\n/g, '\\n') },
      argv: [],
    })
    expect(config.jwt.key.algorithms).toEqual(['ES384'])
  })

  it('allows an RSA-PSS key the PS algorithms its restrictions meet, and refuses one none meets', () => {
    const pss = (options: Record<string, unknown>) =>
      generateKeyPairSync('rsa-pss', { modulusLength: 2048, ...options })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString()
    const algorithmsOf = (pem: string) =>
      loadConfig({ env: { PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: pem }, argv: [] }).jwt.key
    expect(algorithmsOf(pss({})).algorithms).toEqual(['PS256', 'PS384', 'PS512'])
    const sha384 = algorithmsOf(pss({ hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384', saltLength: 48 }))
    expect(sha384.algorithms).toEqual(['PS384'])
    // Handed to jose as the plain RSA key it is: jose cannot use an rsa-pss KeyObject on Node 20.
    expect(sha384.kind === 'public-key' && sha384.key.asymmetricKeyType).toBe('rsa')
    for (const options of [
      { hashAlgorithm: 'sha1', mgf1HashAlgorithm: 'sha1', saltLength: 20 },
      { hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha1', saltLength: 32 },
      { hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256', saltLength: 33 },
    ]) {
      expect(problemsOf({ PUBLISH_API_KEY: valid.PUBLISH_API_KEY, JWT_PUBLIC_KEY: pss(options) })).toEqual([
        expect.stringMatching(/^JWT_PUBLIC_KEY: is an RSA-PSS key restricted to .* which no JWT algorithm meets/),
      ])
    }
  })

  it('accepts two publish keys for rotation, and no more', () => {
    expect(
      loadConfig({ env: { ...valid, PUBLISH_API_KEY: `${'a'.repeat(16)},${'b'.repeat(16)}` }, argv: [] })
        .publishApiKeys,
    ).toHaveLength(2)
    expect(problemsOf({ ...valid, PUBLISH_API_KEY: ['a', 'b', 'c'].map((c) => c.repeat(16)).join(',') })[0]).toMatch(
      /at most two/,
    )
    expect(problemsOf({ ...valid, PUBLISH_API_KEY: 'short' })[0]).toMatch(/at least 16/)
    // Neither could ever match an Authorization header.
    for (const key of ['aaaa aaaa aaaa aaaa', 'ключключключключ'])
      expect(problemsOf({ ...valid, PUBLISH_API_KEY: key })[0]).toMatch(/^PUBLISH_API_KEY: .*printable ASCII/)
  })

  it('accepts exact CORS origins only', () => {
    expect(
      loadConfig({ env: { ...valid, CORS_ALLOWED_ORIGINS: 'https://a.example, http://localhost:3000' }, argv: [] })
        .corsAllowedOrigins,
    ).toEqual(new Set(['https://a.example', 'http://localhost:3000']))
    expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: 'https://*.example' })[0]).toMatch(/^CORS_ALLOWED_ORIGINS/)
    expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: 'https://a.example/path' })[0]).toMatch(/^CORS_ALLOWED_ORIGINS/)
    // Origins no browser sends, which would never match: refused, with the form it would send.
    for (const [origin, sent] of [
      ['https://App.Example.com', 'https://app.example.com'],
      ['https://b.example.com:443', 'https://b.example.com'],
      ['https://a.example.com?x', 'https://a.example.com'],
    ])
      expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: origin! })[0]).toMatch(
        new RegExp(`^CORS_ALLOWED_ORIGINS: .*; a browser sends ${sent}$`),
      )
    expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: '*, https://*.example.com' })).toEqual([
      'CORS_ALLOWED_ORIGINS: "*" is not an exact origin like https://app.example.com; wildcards are not accepted: list each origin',
      'CORS_ALLOWED_ORIGINS: "https://*.example.com" is not an exact origin like https://app.example.com; wildcards are not accepted: list each origin',
    ])
    expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: 'https://a.example.com:99999' })[0]).toMatch(
      /^CORS_ALLOWED_ORIGINS: "https:\/\/a.example.com:99999" is not an exact origin like https:\/\/app.example.com$/,
    )
  })

  it('opens several listening sockets only where SO_REUSEPORT listeners exist', () => {
    const on = (nodeVersion: string, platform = 'linux') => ({
      env: { ...valid, LISTEN_SOCKETS: '4' },
      argv: [],
      openFileLimit: 20_000,
      runtime: { nodeVersion, platform },
    })
    expect(loadConfig(on('v22.12.0')).listenSockets).toBe(4)
    expect(loadConfig(on('v24.1.0')).listenSockets).toBe(4)
    expect(() => loadConfig(on('v20.19.0'))).toThrow(
      'LISTEN_SOCKETS: above 1 needs Node.js 22.12 or later on 22, or 23.1 or later (SO_REUSEPORT listeners); this is v20.19.0',
    )
    expect(() => loadConfig(on('v22.11.0'))).toThrow('needs Node.js 22.12 or later on 22, or 23.1 or later')
    expect(() => loadConfig(on('v23.0.0'))).toThrow('needs Node.js 22.12 or later on 22, or 23.1 or later')
    expect(() => loadConfig(on('v24.1.0', 'darwin'))).toThrow(
      'LISTEN_SOCKETS: above 1 needs SO_REUSEPORT, which Node.js does not offer on darwin',
    )
    // One socket is what every runtime has.
    const one = { ...on('v20.19.0', 'darwin'), env: { ...valid, LISTEN_SOCKETS: '1' } }
    expect(loadConfig(one).listenSockets).toBe(1)
    expect(problemsOf({ ...valid, LISTEN_SOCKETS: '0' })).toEqual([
      'LISTEN_SOCKETS: must be a whole number from 1 to 64, got "0"',
    ])
  })

  it('refuses unknown arguments and an unreadable REDIS_URL', () => {
    expect(problemsOf(valid, ['--prod'])[0]).toMatch(/^argv: unknown argument --prod/)
    expect(problemsOf({ ...valid, REDIS_URL: 'localhost:6379' })[0]).toMatch(/^REDIS_URL: must start with/)
    expect(loadConfig({ env: { ...valid, REDIS_URL: 'redis://127.0.0.1:6390' }, argv: [] }).redis).toEqual({
      kind: 'standalone',
      url: 'redis://127.0.0.1:6390',
    })
  })

  it('names REDIS_URL, among the other problems, for a malformed %-escape or a missing host', () => {
    for (const url of [
      'redis+sentinel://h:1/%ZZ',
      'redis+cluster://u:s3cr%t@h:1',
      'redis://u:s3cr%t@h:1',
      'redis://',
    ]) {
      const problems = problemsOf({ ...valid, REDIS_URL: url, PORT: 'eighty' })
      expect(problems, url).toHaveLength(2)
      expect(problems, url).toEqual(
        expect.arrayContaining([expect.stringMatching(/^PORT:/), expect.stringMatching(/^REDIS_URL: /)]),
      )
      expect(problems.join('\n'), url).not.toMatch(/s3cr/)
    }
  })
})

describe('open-file limit', () => {
  it('reads the soft limit and leaves headroom', () => {
    expect(readOpenFileLimit('/nonexistent')).toBeUndefined()
    expect(typeof readOpenFileLimit()).toBe('number')
    expect(connectionBudgetFromFileLimit(20_000)).toBe(19_000)
    expect(connectionBudgetFromFileLimit(1024)).toBe(960)
    expect(connectionBudgetFromFileLimit(undefined)).toBe(10_000)
    expect(fileLimitProblem(19_000, 20_000)).toBeUndefined()
    expect(fileLimitProblem(19_000, undefined)).toBeUndefined()
    expect(fileLimitProblem(19_000, 512)).toMatch(/^MAX_CONNECTIONS 19000 leaves too few of the 512 open files/)
  })

  it('keeps half the headroom from client sockets, for the process itself', () => {
    expect(socketBudgetFromFileLimit(20_000)).toBe(19_500)
    expect(socketBudgetFromFileLimit(1024)).toBe(992)
    expect(socketBudgetFromFileLimit(200)).toBe(168)
    expect(socketBudgetFromFileLimit(undefined)).toBeUndefined()
    expect(fileLimitProblem(19_900, 20_000)).toMatch(/past 19500 client sockets, new ones are closed unanswered/)
  })
})
