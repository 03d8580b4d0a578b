import { describe, expect, it } from 'vitest'
import { LostProbeJudge } from './lost-probe-judge.js'

/** A judge that saw a loss and has had the slots map read, at 1000 ms. */
function judgeAfterRead(): LostProbeJudge {
  const judge = new LostProbeJudge()
  expect(judge.next(true, 0, true)).toBe('read-slots')
  judge.slotsRead(1000)
  return judge
}

describe('LostProbeJudge', () => {
  it('rebuilds at once on a loss when there is no slots map to read (standalone, Sentinel)', () => {
    expect(new LostProbeJudge().next(true, 0, false)).toBe('rebuild')
  })

  it('reads the slots map on a first loss, and waits, without rebuilding, until it is read', () => {
    const judge = new LostProbeJudge()
    expect(judge.next(true, 0, true)).toBe('read-slots')
    // The read is slower than a tick: the loss it may explain is not judged meanwhile.
    for (let tick = 0; tick < 5; tick++) expect(judge.next(true, 0, true)).toBe('wait')
  })

  it('rebuilds when a loss is proven again after the map was read', () => {
    const judge = judgeAfterRead()
    // The broker forgot the earlier loss: ticks without one, and no delivery, until it shows again.
    expect(judge.next(false, 500, true)).toBe('none')
    expect(judge.next(true, 500, true)).toBe('rebuild')
    // A rebuild starts over: the next loss reads the map first again.
    expect(judge.next(true, 500, true)).toBe('read-slots')
  })

  it('starts over once every probe delivered after the read: the loss was the slot move', () => {
    const judge = judgeAfterRead()
    expect(judge.next(false, 999, true)).toBe('none')
    expect(judge.next(false, 1000, true)).toBe('kept')
    expect(judge.next(false, 2000, true)).toBe('none')
    expect(judge.next(true, 2000, true)).toBe('read-slots')
  })

  it('does not count a map read that nobody asked for, and forgets a read pending at a reset', () => {
    const judge = new LostProbeJudge()
    judge.slotsRead(1000)
    expect(judge.next(true, 0, true)).toBe('read-slots')
    judge.reset()
    judge.slotsRead(2000)
    expect(judge.next(true, 0, true)).toBe('read-slots')
  })
})
