import { describe, expect, it } from 'vitest'
import { evictingPolicy } from './eviction-policy.js'

const info = (maxmemory: number, policy: string) =>
  `# Memory\r\nused_memory:1056000\r\nmaxmemory:${maxmemory}\r\nmaxmemory_human:5.00M\r\nmaxmemory_policy:${policy}\r\n`

describe('evictingPolicy', () => {
  it('names a policy that can evict Herald keys under a memory limit, volatile ones included', () => {
    expect(evictingPolicy(info(5_242_880, 'allkeys-lru'))).toEqual({ policy: 'allkeys-lru', maxmemoryBytes: 5_242_880 })
    expect(evictingPolicy(info(5_242_880, 'volatile-ttl'))).toEqual({
      policy: 'volatile-ttl',
      maxmemoryBytes: 5_242_880,
    })
  })

  it('is quiet for noeviction, for no memory limit, and for an INFO without the fields', () => {
    expect(evictingPolicy(info(5_242_880, 'noeviction'))).toBeUndefined()
    expect(evictingPolicy(info(0, 'allkeys-lru'))).toBeUndefined()
    expect(evictingPolicy('# Memory\r\nused_memory:1\r\n')).toBeUndefined()
  })
})
