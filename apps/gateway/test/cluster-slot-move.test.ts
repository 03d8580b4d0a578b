/**
 * A slot that moves while the new master refuses the gateway's SSUBSCRIBE: the
 * catch-up fails after ioredis's last readiness, so nothing but the broker's own
 * probe tick can try it again. The refusal is an ACL on the gateway's Redis user
 * (channel permissions are per server in a cluster), which the test lifts.
 */

import { HeraldPublisher } from '@herald/publisher'
import { type RedisCluster, startRedisCluster } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecordingEventSource, signToken } from './harness.js'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

const GATEWAY_USER = ['herald-gateway', 'gateway-password'] as const

describe('a Redis Cluster slot moving to a master that first refuses the subscription', () => {
  let cluster: RedisCluster
  let node: GatewayNode
  let publisher: HeraldPublisher
  const tabs: RecordingEventSource[] = []
  /** u1's tab, open across the tests: each moves u1's slot again. */
  let moving: RecordingEventSource

  beforeAll(async () => {
    cluster = await startRedisCluster()
    const [user, password] = GATEWAY_USER
    await Promise.all(
      cluster.masters.map((master) => master.cli('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all')),
    )
    const gatewayUrl = cluster.url.replace('redis+cluster://', `redis+cluster://${user}:${password}@`)
    // Escalation (a full resubscribe) comes after 5 intervals held; a retry at the next tick, after 1.
    ;[node] = (await startNodes(gatewayUrl, 1, { PUBSUB_PROBE_INTERVAL_MS: '1000' })) as [GatewayNode]
    publisher = new HeraldPublisher({ redis: cluster.url })
  })

  afterAll(async () => {
    for (const tab of tabs) tab.close()
    await publisher?.close()
    await stopNodes(node === undefined ? [] : [node])
    await cluster?.stop()
  })

  async function tab(user: string): Promise<RecordingEventSource> {
    const source = new RecordingEventSource(node.eventsUrl(), { token: await signToken(user) })
    tabs.push(source)
    await source.waitForReady()
    return source
  }

  it('retries the catch-up at the next probe tick: the message arrives without a full resubscribe', async () => {
    moving = await tab('u1')
    const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', '{u:u1}'))
    const from = await cluster.slotOwner(slot)
    const target = cluster.masters.find((master) => master !== from)!

    await publisher.publish({ user: 'u1' }, undefined, 'before')
    await moving.waitForEvents(1)

    // The new master lets the gateway's user have its probes and every channel but u1's.
    await target.cli('ACL', 'SETUSER', GATEWAY_USER[0], 'resetchannels', '&herald:{probe:*', '&herald:{u:u[^1]*')
    const refused = node.process.waitForOutput(/moved channels not resubscribed yet/)
    await cluster.moveSlot(slot, target)
    await refused

    await publisher.publish({ user: 'u1' }, undefined, 'while held')
    await target.cli('ACL', 'SETUSER', GATEWAY_USER[0], 'allchannels')
    await moving.waitForEvents(2)
    // Logged after the resync has delivered.
    await node.process.waitForOutput(/channels of moved slots caught up from streams/)

    expect(moving.payloads()).toEqual(['before', 'while held'])
    const output = node.process.output()
    expect(output).not.toMatch(/resubscribing every channel|holding live delivery until it is back|subscriber stuck/)
    expect(moving.count('herald.reset')).toBe(0)
  })

  it('rebuilds the subscriber when the channels stay refused for five intervals, and catches them up', async () => {
    const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', '{u:u1}'))
    const from = await cluster.slotOwner(slot)
    const target = cluster.masters.find((master) => master !== from)!
    const rebuilt = node.process.waitForOutput(/^.*redis subscriber stuck.*$/m)
    await target.cli('ACL', 'SETUSER', GATEWAY_USER[0], 'resetchannels', '&herald:{probe:*', '&herald:{u:u[^1]*')
    await cluster.moveSlot(slot, target)
    await publisher.publish({ user: 'u1' }, undefined, 'refused')

    // The rebuild is for the held channels themselves, not for a suspension that never ended.
    expect(JSON.parse((await rebuilt)[0])).toMatchObject({ movedHeldMs: expect.any(Number) })
    await target.cli('ACL', 'SETUSER', GATEWAY_USER[0], 'allchannels')
    await moving.waitForEvents(3)
    expect(moving.payloads()).toEqual(['before', 'while held', 'refused'])
    expect(moving.count('herald.reset')).toBe(0)
  })
})
