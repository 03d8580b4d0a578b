import { describe, expect, it } from 'vitest'
import { type KeyValueStorage, LastIdStore } from './last-id-store.js'

function memoryStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>()
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) }
}

describe('LastIdStore', () => {
  it('remembers the last id per scope', () => {
    const storage = memoryStorage()
    const alice = new LastIdStore(storage, 'https://gw/v1/events|alice|')
    const bob = new LastIdStore(storage, 'https://gw/v1/events|bob|')
    alice.set('u1:1-0')
    expect(new LastIdStore(storage, 'https://gw/v1/events|alice|').get()).toBe('u1:1-0')
    expect(bob.get()).toBe('')
  })

  it('works, forgetting, without storage or when storage throws', () => {
    const throwing: KeyValueStorage = {
      getItem: () => {
        throw new Error('SecurityError')
      },
      setItem: () => {
        throw new Error('QuotaExceededError')
      },
    }
    for (const store of [new LastIdStore(undefined, 's'), new LastIdStore(throwing, 's')]) {
      store.set('u1:1-0')
      expect(store.get()).toBe('')
    }
  })
})
