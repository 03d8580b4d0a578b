import { describe, expect, it } from 'vitest'
import type { HistoryEntry } from '../broker/broker.js'
import { entryBytes, LiveBacklog } from './live-backlog.js'

const entry = (n: number, data = String(n)): HistoryEntry => ({
  id: `1-${n}`,
  type: undefined,
  data,
  publishedAtMs: 0,
})

function takeAll(backlog: LiveBacklog): string[] {
  const taken: string[] = []
  while (backlog.size > 0) backlog.takeOldest((key, e) => taken.push(`${key}:${e.data}`))
  return taken
}

describe('LiveBacklog', () => {
  it('hands entries back in the order they came, with their channels', () => {
    const backlog = new LiveBacklog()
    backlog.push('u:a', entry(1), 0)
    backlog.push('t:b', entry(2), 0)
    backlog.push('u:a', entry(3), 0)
    expect(backlog.size).toBe(3)
    expect(takeAll(backlog)).toEqual(['u:a:1', 't:b:2', 'u:a:3'])
    expect([backlog.size, backlog.bytes]).toEqual([0, 0])
  })

  it('says when its oldest entry came', () => {
    const backlog = new LiveBacklog()
    backlog.push('u:a', entry(1), 10)
    backlog.push('u:a', entry(2), 20)
    expect(backlog.oldestArrivedAtMs).toBe(10)
    backlog.takeOldest(() => {})
    expect(backlog.oldestArrivedAtMs).toBe(20)
  })

  it('counts what its entries hold, and gives it back as they are taken', () => {
    const backlog = new LiveBacklog()
    const small = entry(1)
    const large = entry(2, 'x'.repeat(10_000))
    backlog.push('u:a', small, 0)
    backlog.push('u:a', large, 0)
    expect(backlog.bytes).toBe(entryBytes(small) + entryBytes(large))
    expect(entryBytes(large)).toBeGreaterThan(20_000)
    backlog.takeOldest(() => {})
    expect(backlog.bytes).toBe(entryBytes(large))
  })

  it('keeps its order across a long run taken while more come', () => {
    const backlog = new LiveBacklog()
    const taken: number[] = []
    let pushed = 0
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) backlog.push('u:a', entry(++pushed), 0)
      for (let i = 0; i < 200; i++) backlog.takeOldest((_key, e) => taken.push(Number(e.data)))
    }
    while (backlog.size > 0) backlog.takeOldest((_key, e) => taken.push(Number(e.data)))
    expect(taken).toEqual(Array.from({ length: pushed }, (_, n) => n + 1))
  })

  it('drops everything it holds, naming each channel once', () => {
    const backlog = new LiveBacklog()
    backlog.push('u:a', entry(1), 0)
    backlog.push('t:b', entry(2), 0)
    backlog.push('u:a', entry(3), 0)
    backlog.takeOldest(() => {})
    expect([...backlog.drop()].sort()).toEqual(['t:b', 'u:a'])
    expect([backlog.size, backlog.bytes]).toEqual([0, 0])
    backlog.push('u:c', entry(4), 0)
    expect(takeAll(backlog)).toEqual(['u:c:4'])
  })
})
