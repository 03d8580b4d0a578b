/**
 * A slot moving onto a master whose functions library is younger than the slot's streams: a
 * master that joined by CLUSTER MEET gets the library only with the first slot that moves in,
 * and one whose library was deleted gets it again at the next probe tick. Its dataset start is
 * later than every moved entry, and positions in those streams must still resume exactly
 * (functions v14), where version 13 answered `trimmed` and reset every tab on the channel.
 */

import { HeraldPublisher } from '@herald/publisher'
import { streamKey } from '@herald/publisher/internal'
import { pollUntil, startRedisCluster } from '@herald/redis-harness'
import { expect, it } from 'vitest'
import { RecordingEventSource, signToken } from './harness.js'
import { startNodes, stopNodes } from './redis-nodes.js'

it('resumes exactly from a stream carried onto a master whose library is younger than it', {
  timeout: 60_000,
}, async () => {
  const cluster = await startRedisCluster()
  const tabs: RecordingEventSource[] = []
  const nodes = await startNodes(cluster.url, 1, { PUBSUB_PROBE_INTERVAL_MS: '200' }).catch(async (error) => {
    await cluster.stop()
    throw error
  })
  const gateway = nodes[0]!
  const publisher = new HeraldPublisher({ redis: cluster.url })
  try {
    const away = new RecordingEventSource(gateway.eventsUrl(), { token: await signToken('carried') })
    tabs.push(away)
    await away.waitForReady()
    for (const n of [1, 2, 3]) await publisher.publish({ user: 'carried' }, undefined, n)
    await away.waitForEvents(3)
    away.close()
    const position = away.events[0]!.lastEventId

    const slot = Number(await cluster.masters[0]!.cli('CLUSTER', 'KEYSLOT', '{u:carried}'))
    const from = await cluster.slotOwner(slot)
    const target = cluster.masters.find((master) => master !== from)!
    // The target's library goes, and the node's probe tick loads it again: its start is now.
    await target.cli('FUNCTION', 'DELETE', 'herald')
    await pollUntil('the library back on the target', async () =>
      /herald/.test(await target.cli('FUNCTION', 'LIST', 'LIBRARYNAME', 'herald')) ? true : undefined,
    )
    await cluster.moveSlot(slot, target)
    expect(await target.cli('XLEN', streamKey('u:carried'))).toBe('3')

    const resumed = new RecordingEventSource(gateway.eventsUrl(), {
      token: await signToken('carried'),
      lastEventId: position,
    })
    tabs.push(resumed)
    await resumed.waitForReady()
    await publisher.publish({ user: 'carried' }, undefined, 4)
    await resumed.waitForEvents(3)
    expect(resumed.payloads()).toEqual([2, 3, 4])
    expect(resumed.count('herald.reset')).toBe(0)
  } finally {
    for (const tab of tabs) tab.close()
    await publisher.close()
    await stopNodes(nodes)
    await cluster.stop()
  }
})
