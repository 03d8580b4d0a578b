import { describe, expect, it } from 'vitest'
import { editDistance, misspeltVariables } from './misspelt-variables.js'

const READ = new Set([
  'PORT',
  'HOST',
  'REDIS_URL',
  'LOG_LEVEL',
  'PUBLISH_WAIT_REPLICAS',
  'JWT_SECRET',
  'RETRY_MS',
  'HEARTBEAT_INTERVAL_MS',
  'CORS_ALLOWED_ORIGINS',
])

describe('misspeltVariables', () => {
  it('names the variable each near miss was meant to be', () => {
    expect(
      misspeltVariables(['PUBLISH_WAIT_REPLICA', 'LOGLEVEL', 'redis_url', 'JWT_SECERT', 'PROT', 'REDIS_URLS'], READ),
    ).toEqual([
      { name: 'PUBLISH_WAIT_REPLICA', meant: 'PUBLISH_WAIT_REPLICAS' },
      { name: 'LOGLEVEL', meant: 'LOG_LEVEL' },
      { name: 'redis_url', meant: 'REDIS_URL' },
      { name: 'JWT_SECERT', meant: 'JWT_SECRET' },
      { name: 'PROT', meant: 'PORT' },
      { name: 'REDIS_URLS', meant: 'REDIS_URL' },
    ])
  })

  it('names a word more or less, a prefix, and a unit left out or swapped', () => {
    expect(
      misspeltVariables(
        [
          'PUBLISH_WAIT_FOR_REPLICAS',
          'PUBLISH_WAIT_REPLICAS_COUNT',
          'HERALD_PUBLISH_WAIT_REPLICAS',
          'HERALD_REDIS_URL',
          'HEARTBEAT_INTERVAL',
          'HEARTBEAT_INTERVAL_SECONDS',
          'RETRY',
          'RETRY_SECONDS',
          'CORS_ORIGINS',
        ],
        READ,
      ),
    ).toEqual([
      { name: 'PUBLISH_WAIT_FOR_REPLICAS', meant: 'PUBLISH_WAIT_REPLICAS' },
      { name: 'PUBLISH_WAIT_REPLICAS_COUNT', meant: 'PUBLISH_WAIT_REPLICAS' },
      { name: 'HERALD_PUBLISH_WAIT_REPLICAS', meant: 'PUBLISH_WAIT_REPLICAS' },
      { name: 'HERALD_REDIS_URL', meant: 'REDIS_URL' },
      { name: 'HEARTBEAT_INTERVAL', meant: 'HEARTBEAT_INTERVAL_MS' },
      { name: 'HEARTBEAT_INTERVAL_SECONDS', meant: 'HEARTBEAT_INTERVAL_MS' },
      { name: 'RETRY', meant: 'RETRY_MS' },
      { name: 'RETRY_SECONDS', meant: 'RETRY_MS' },
      { name: 'CORS_ORIGINS', meant: 'CORS_ALLOWED_ORIGINS' },
    ])
  })

  it("leaves the variables it reads, and others' ordinary variables, alone", () => {
    // What Kubernetes sets for Services named herald and redis included.
    const others = [
      'PORT',
      'HOST',
      'HOSTNAME',
      'HOME',
      'PATH',
      'PWD',
      'NODE_ENV',
      'REDIS_PORT',
      'REDIS_SERVICE_HOST',
      'REDIS_SERVICE_PORT',
      'REDIS_PORT_6379_TCP_ADDR',
      'HERALD_PORT',
      'HERALD_SERVICE_HOST',
      'HERALD_SERVICE_PORT_HTTP',
      'HERALD_PORT_8080_TCP_PORT',
      // What hosting platforms set beside REDIS_URL, and secrets read from files by convention.
      'REDIS_TLS_URL',
      'REDIS_PUBLIC_URL',
      'REDIS_PRIVATE_URL',
      'UPSTASH_REDIS_URL',
      'JWT_SECRET_KEY',
      'JWT_SECRET_FILE',
    ]
    expect(misspeltVariables(others, READ)).toEqual([])
  })
})

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and swapped neighbours, up to a limit', () => {
    expect(editDistance('PORT', 'PORT', 2)).toBe(0)
    expect(editDistance('PROT', 'PORT', 2)).toBe(1)
    expect(editDistance('POT', 'PORT', 2)).toBe(1)
    expect(editDistance('PORTS', 'PORT', 2)).toBe(1)
    expect(editDistance('PART', 'PORT', 2)).toBe(1)
    expect(editDistance('HOSTNAME', 'HOST', 2)).toBe(3)
    expect(editDistance('REDIS_PORT', 'REDIS_URL', 2)).toBe(3)
  })
})
