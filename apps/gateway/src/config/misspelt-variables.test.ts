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
  it.each([
    // Another case, or an edit or two away.
    ['PUBLISH_WAIT_REPLICA', 'PUBLISH_WAIT_REPLICAS'],
    ['LOGLEVEL', 'LOG_LEVEL'],
    ['redis_url', 'REDIS_URL'],
    ['JWT_SECERT', 'JWT_SECRET'],
    ['PROT', 'PORT'],
    ['REDIS_URLS', 'REDIS_URL'],
    // A filler word more, a word less, Herald's name before it, a unit left out or swapped.
    ['PUBLISH_WAIT_FOR_REPLICAS', 'PUBLISH_WAIT_REPLICAS'],
    ['PUBLISH_WAIT_REPLICAS_COUNT', 'PUBLISH_WAIT_REPLICAS'],
    ['CORS_ORIGINS', 'CORS_ALLOWED_ORIGINS'],
    ['HERALD_PUBLISH_WAIT_REPLICAS', 'PUBLISH_WAIT_REPLICAS'],
    ['HERALD_REDIS_URL', 'REDIS_URL'],
    ['HEARTBEAT_INTERVAL', 'HEARTBEAT_INTERVAL_MS'],
    ['HEARTBEAT_INTERVAL_SECONDS', 'HEARTBEAT_INTERVAL_MS'],
    ['RETRY', 'RETRY_MS'],
    ['RETRY_SECONDS', 'RETRY_MS'],
  ])('names %s as meant to be %s', (name, meant) => {
    expect(misspeltVariables([name], READ)).toEqual([{ name, meant }])
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
