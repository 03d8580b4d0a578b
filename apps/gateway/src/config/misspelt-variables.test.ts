import { describe, expect, it } from 'vitest'
import { editDistance, misspeltVariables } from './misspelt-variables.js'

const READ = new Set(['PORT', 'HOST', 'REDIS_URL', 'LOG_LEVEL', 'PUBLISH_WAIT_REPLICAS', 'JWT_SECRET'])

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

  it("leaves the variables it reads, and others' ordinary variables, alone", () => {
    const others = ['PORT', 'HOST', 'HOSTNAME', 'HOME', 'PATH', 'PWD', 'NODE_ENV', 'REDIS_PORT', 'REDIS_SERVICE_HOST']
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
