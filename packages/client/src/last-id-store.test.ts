import { describe, expect, it } from 'vitest'
import { type KeyValueStorage, LastIdStore } from './last-id-store.js'

function memoryStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>()
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  }
}

describe('LastIdStore', () => {
  it('remembers the last id per scope', () => {
    const storage = memoryStorage()
    const alice = new LastIdStore(storage, 'https://gw/v1/events|alice|')
    const bob = new LastIdStore(storage, 'https://gw/v1/events|bob|')
    alice.set('u00000001:1-0')
    expect(new LastIdStore(storage, 'https://gw/v1/events|alice|').get()).toBe('u00000001:1-0')
    expect(bob.get()).toBe('')
  })

  it('forgets the position of its scope alone, and does nothing where storage cannot remove', () => {
    const storage = memoryStorage()
    const [first, second] = [new LastIdStore(storage, 's'), new LastIdStore(storage, 's#1')]
    first.set('u00000001:1-0')
    second.set('u00000001:2-0')
    first.remove()
    expect([first.get(), second.get()]).toEqual(['', 'u00000001:2-0'])
    const { removeItem: _, ...withoutRemove } = memoryStorage()
    expect(() => new LastIdStore(withoutRemove, 's').remove()).not.toThrow()
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
      store.set('u00000001:1-0')
      expect(store.get()).toBe('')
    }
  })

  it('ignores a stored value that is not a resume token, such as one fetch cannot send as a header', () => {
    const storage = memoryStorage()
    const store = new LastIdStore(storage, 's')
    for (const bad of [
      'u1234abcd:1-0\u00e9\u20ac',
      'x\ny',
      'u1234abcd:1-0\n',
      'hello',
      'u1234abcd:1-0,u1234abcd:2-0',
    ]) {
      storage.map.set('herald:last-event-id:s', bad)
      expect(store.get(), JSON.stringify(bad)).toBe('')
    }
    storage.map.set('herald:last-event-id:s', 'u1234abcd:1-0,t0000abcd:17-3')
    expect(store.get()).toBe('u1234abcd:1-0,t0000abcd:17-3')
  })
})
