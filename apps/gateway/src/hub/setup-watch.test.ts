import { describe, expect, it } from 'vitest'
import { SetupWatch } from './setup-watch.js'

describe('SetupWatch', () => {
  it('turns every watched item away, once, when the broker is unavailable, and none while it is available', () => {
    let available = true
    const turnedAway: string[] = []
    const watch = new SetupWatch<string>(
      60_000,
      () => available,
      (item) => turnedAway.push(item),
    )
    for (const item of ['a', 'b', 'c']) watch.add(item)
    watch.delete('b')
    watch.check()
    expect(turnedAway).toEqual([])
    available = false
    watch.check()
    watch.check()
    expect(turnedAway).toEqual(['a', 'c'])
    expect(watch.size).toBe(0)
  })

  it('runs its timer only while it watches something', () => {
    const watch = new SetupWatch<string>(
      1_000,
      () => false,
      () => {},
    )
    expect(watch.timerRunning).toBe(false)
    watch.add('a')
    watch.add('b')
    expect(watch.timerRunning).toBe(true)
    watch.delete('a')
    expect(watch.timerRunning).toBe(true)
    watch.delete('b')
    expect(watch.timerRunning).toBe(false)
    watch.add('c')
    watch.check()
    expect(watch.timerRunning).toBe(false)
  })
})
