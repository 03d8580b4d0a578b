import { describe, expect, it } from 'vitest'
import { SourceEndpoints } from './source-endpoints.js'

describe('SourceEndpoints', () => {
  it('alternates the addresses, then moves to the next port', () => {
    const endpoints = new SourceEndpoints(['127.0.1.10', '127.0.1.11'], 40_000, 40_009)
    expect([endpoints.take(), endpoints.take(), endpoints.take()]).toEqual([
      { address: '127.0.1.10', port: 40_000 },
      { address: '127.0.1.11', port: 40_000 },
      { address: '127.0.1.10', port: 40_001 },
    ])
  })

  it('skips pairs still held on the way round, and reuses released ones', () => {
    const endpoints = new SourceEndpoints(['127.0.1.10'], 40_000, 40_002)
    const first = endpoints.take()
    const second = endpoints.take()
    endpoints.take()
    endpoints.release(second)
    // Round again: 40,000 is still held, 40,001 was released.
    expect(endpoints.take()).toEqual({ address: '127.0.1.10', port: 40_001 })
    expect(() => endpoints.take()).toThrow('all 3 source endpoints are held')
    endpoints.release(first)
    expect(endpoints.take()).toEqual(first)
  })

  it('refuses an empty address list and a bad port range', () => {
    expect(() => new SourceEndpoints([])).toThrow('at least one address')
    expect(() => new SourceEndpoints(['127.0.1.10'], 50_000, 40_000)).toThrow('bad port range')
  })
})
