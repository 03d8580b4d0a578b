import { describe, expect, it } from 'vitest'
import { connectedReplicas, movedChannels, replicationRole, slotMasters } from './slot-masters.js'

describe('slotMasters', () => {
  it('takes the master, listed first, of each slot, and leaves unassigned slots undefined', () => {
    const masters = slotMasters([['a:1', 'r:1'], undefined, ['b:2']])
    expect(masters).toEqual(['a:1', undefined, 'b:2'])
  })
})

describe('movedChannels', () => {
  const before = slotMasters([['a:1'], ['a:1'], ['b:2']])
  const slotOf = (channel: string) => Number(channel.slice(1))

  it('names the channels whose slot changed master, and only those', () => {
    const after = slotMasters([['a:1'], ['c:3'], ['b:2']])
    expect(movedChannels(before, after, ['s0', 's1', 's2'], slotOf)).toEqual(['s1'])
  })

  it('counts a slot that lost its master, or gained one, as moved', () => {
    expect(movedChannels(before, slotMasters([undefined, ['a:1'], ['b:2']]), ['s0'], slotOf)).toEqual(['s0'])
    expect(movedChannels(slotMasters([undefined]), slotMasters([['a:1']]), ['s0'], slotOf)).toEqual(['s0'])
  })

  it('is empty when nothing changed', () => {
    expect(movedChannels(before, slotMasters([['a:1'], ['a:1'], ['b:2']]), ['s0', 's1', 's2'], slotOf)).toEqual([])
  })
})

describe('replicationRole', () => {
  it("reads the node's own role from INFO replication", () => {
    expect(replicationRole('# Replication\r\nrole:master\r\nconnected_slaves:1\r\n')).toBe('master')
    expect(replicationRole('# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n')).toBe('slave')
    expect(replicationRole('# Replication\r\nconnected_slaves:0\r\n')).toBeUndefined()
  })
})

describe('connectedReplicas', () => {
  it("reads a master's count of connected replicas, and nothing from a reply without one", () => {
    expect(connectedReplicas('# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=x\r\n')).toBe(2)
    expect(connectedReplicas('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n')).toBe(0)
    expect(connectedReplicas('# Replication\r\nrole:slave\r\n')).toBeUndefined()
  })
})
