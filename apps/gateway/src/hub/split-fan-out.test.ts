import { parseStreamId, topicChannel } from '@herald/protocol'
import { describe, expect, it } from 'vitest'
import { ChannelMembers } from './channel-members.js'
import { FramedEntry } from './framed-entry.js'
import { SplitFanOut } from './split-fan-out.js'

const entry = { id: '1-1', type: undefined, data: '"hi"', publishedAtMs: 1 }
const framed = new FramedEntry(topicChannel('news'), entry, parseStreamId('1-1')!, true)

function membersOf(names: readonly string[]): ChannelMembers<string> {
  const members = new ChannelMembers<string>()
  for (const [slot, name] of names.entries()) members.set(name, slot)
  return members
}

describe('SplitFanOut', () => {
  it('visits at most the limit a call, in join order, and counts what it visited and wrote', () => {
    const members = membersOf(['a', 'b', 'c', 'd', 'e'])
    const split = new SplitFanOut('t:news', members, framed)
    const seen: string[] = []
    // 'b' already has it: visited, not written.
    const deliver = (member: string, slot: number, given: FramedEntry) => {
      expect(given).toBe(framed)
      seen.push(`${member}${slot}`)
      return member !== 'b'
    }
    expect(split.visit(2, deliver)).toBe(true)
    expect(split.takeCounts()).toEqual({ visited: 2, written: 1 })
    expect(split.visit(2, deliver)).toBe(true)
    // The call that reaches the last one says it is done.
    expect(split.visit(1, deliver)).toBe(false)
    expect(split.done).toBe(true)
    expect(split.takeCounts()).toEqual({ visited: 3, written: 3 })
    expect(seen).toEqual(['a0', 'b1', 'c2', 'd3', 'e4'])
  })

  it('skips a member that left before it was reached, and visits one that joined meanwhile', () => {
    const members = membersOf(['a', 'b', 'c', 'd'])
    const split = new SplitFanOut('t:news', members, framed)
    const seen: string[] = []
    const deliver = (member: string) => seen.push(member) > 0
    split.visit(1, deliver)
    // 'b' is read ahead already: left, it is still skipped.
    members.delete('b')
    members.delete('c')
    members.set('e', 9)
    expect(split.visit(10, deliver)).toBe(false)
    expect(seen).toEqual(['a', 'd', 'e'])
    expect(split.takeCounts()).toEqual({ visited: 4, written: 3 })
  })
})
