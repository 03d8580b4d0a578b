/**
 * A slot that moves while the new master refuses the gateway's SSUBSCRIBE: the
 * catch-up fails after ioredis's last readiness, so nothing but the broker's own
 * probe tick can try it again. The refusal is an ACL on the gateway's Redis user
 * (channel permissions are per server in a cluster), which the test lifts. And a
 * master that drops a slot's subscriptions without the slot moving at all.
 */

import { HeraldPublisher } from '@herald/publisher'
import { pollUntil, type RedisCluster, startRedisCluster } from '@herald/redis-harness'
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

  it("resubscribes a channel its master unsubscribed in place (SETSLOT NODE to the slot's own owner), and catches it up", async () => {
    // Redis 7.0 reads SETSLOT <slot> NODE <owner> as delete and add: the slot's shard channels
    // lose their subscribers, each told by an unsolicited SUNSUBSCRIBE, while the map stays as it
    // was. redis-cli --cluster reshard ends each slot's move so, on every master.
    const staying = await tab('u7')
    await publisher.publish({ user: 'u7' }, undefined, 'before')
    await staying.waitForEvents(1)
    const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', '{u:u7}'))
    const owner = await cluster.slotOwner(slot)
    const dropped = node.process.waitForOutput(/redis dropped subscriptions/)
    await owner.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', await owner.cli('CLUSTER', 'MYID'))
    // Published at once: some before the gateway has subscribed again, caught up from the stream.
    for (const n of [1, 2, 3, 4, 5]) await publisher.publish({ user: 'u7' }, undefined, n)
    await staying.waitForEvents(6)
    await dropped
    expect(staying.payloads()).toEqual(['before', 1, 2, 3, 4, 5])
    expect(staying.count('herald.reset')).toBe(0)
    expect(staying.opens).toBe(1)
    // And it stays subscribed: the next message arrives live.
    await publisher.publish({ user: 'u7' }, undefined, 'after')
    await staying.waitForEvents(7)
    expect(staying.payloads().at(-1)).toBe('after')
  })

  it('subscribes a probe channel its master unsubscribed in place again, before the probe goes overdue', async () => {
    const probeMaster = cluster.masters[0]!
    const [probe] = (await probeMaster.cli('PUBSUB', 'SHARDCHANNELS', 'herald:{probe:*')).split('\n').filter(Boolean)
    const slot = Number(await probeMaster.cli('CLUSTER', 'KEYSLOT', probe!))
    const owner = await cluster.slotOwner(slot)
    const subscribers = async () => Number((await owner.cli('PUBSUB', 'SHARDNUMSUB', probe!)).split('\n')[1])
    expect(await subscribers()).toBe(1)
    const logged = node.process.output().length
    await owner.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', await owner.cli('CLUSTER', 'MYID'))
    await pollUntil('the probe channel subscribed again', async () => ((await subscribers()) === 1 ? true : undefined))
    // Back before its probe went stale (two 1 s intervals), not by the rebuild that follows that.
    expect(node.process.output().slice(logged)).not.toMatch(/pubsub probe overdue|redis subscriber stuck/)
  })
})
