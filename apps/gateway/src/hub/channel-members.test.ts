import { describe, expect, it } from 'vitest'
import { ChannelMembers } from './channel-members.js'

function visited(members: ChannelMembers<string>): Array<[string, number]> {
  const seen: Array<[string, number]> = []
  members.forEach((slot, member) => {
    seen.push([member, slot])
  })
  return seen
}

describe('ChannelMembers', () => {
  it('holds one member, and updates its slot when it joins again', () => {
    const members = new ChannelMembers<string>()
    expect(members.size).toBe(0)
    expect(visited(members)).toEqual([])
    members.set('a', 0)
    members.set('a', 2)
    expect(members.size).toBe(1)
    expect(visited(members)).toEqual([['a', 2]])
    expect(members.list()).toEqual(['a'])
  })

  it('grows to many in join order, and shrinks back to none', () => {
    const members = new ChannelMembers<string>()
    members.set('a', 0)
    members.set('b', 1)
    members.set('c', 3)
    expect(members.size).toBe(3)
    expect(visited(members)).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 3],
    ])
    expect(members.delete('b')).toBe(true)
    expect(members.delete('b')).toBe(false)
    expect(visited(members)).toEqual([
      ['a', 0],
      ['c', 3],
    ])
    expect(members.delete('a')).toBe(true)
    expect(members.delete('c')).toBe(true)
    expect(members.size).toBe(0)
    expect(members.list()).toEqual([])
  })

  it('deletes only a member it holds', () => {
    const members = new ChannelMembers<string>()
    expect(members.delete('a')).toBe(false)
    members.set('a', 0)
    expect(members.delete('z')).toBe(false)
    expect(members.size).toBe(1)
    expect(members.delete('a')).toBe(true)
    expect(members.size).toBe(0)
  })

  it('lists a copy that stays whole while members leave', () => {
    const members = new ChannelMembers<string>()
    for (const [i, m] of ['a', 'b', 'c'].entries()) members.set(m, i)
    const listed = members.list()
    for (const m of listed) members.delete(m)
    expect(listed).toEqual(['a', 'b', 'c'])
    expect(members.size).toBe(0)
  })
  it('counts the members a test holds for, one or many, passing its argument through', () => {
    const members = new ChannelMembers<string>()
    const seen: string[] = []
    const test = (member: string, slot: number, prefix: string) => {
      seen.push(`${prefix}${member}${slot}`)
      return member !== 'b'
    }
    expect(members.count(test, '>')).toBe(0)
    members.set('a', 1)
    expect(members.count(test, '>')).toBe(1)
    members.set('b', 0)
    members.set('c', 2)
    expect(members.count(test, '#')).toBe(2)
    expect(seen).toEqual(['>a1', '#a1', '#b0', '#c2'])
  })
})
