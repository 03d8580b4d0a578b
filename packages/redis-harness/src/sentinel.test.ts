import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseInfo } from './cli.js'
import { pollUntil } from './poll.js'
import { type RedisSentinelSetup, startRedisSentinel } from './sentinel.js'

describe('startRedisSentinel', () => {
  let setup: RedisSentinelSetup

  beforeAll(async () => {
    setup = await startRedisSentinel()
  })

  afterAll(async () => {
    await setup.stop()
  })

  it('reports the initial master through every sentinel', async () => {
    const [master, replica] = setup.servers
    expect(setup.masterName).toBe('herald-master')
    expect(setup.sentinels).toHaveLength(3)
    expect(await setup.currentMaster()).toEqual({ host: '127.0.0.1', port: master!.port })
    expect(parseInfo(await replica!.cli('INFO', 'replication')).get('role')).toBe('slave')
    for (const sentinel of setup.sentinels) {
      expect(await sentinel.cli('SENTINEL', 'get-master-addr-by-name', 'herald-master')).toBe(
        `127.0.0.1\n${master!.port}`,
      )
    }
  })

  it('fails over to the replica, which then accepts writes that reach the old master', async () => {
    const [oldMaster, replica] = setup.servers
    await oldMaster!.cli('SET', 'before', '1')

    const promoted = await setup.failover()
    expect(promoted).toEqual({ host: '127.0.0.1', port: replica!.port })
    expect(await setup.currentMaster()).toEqual(promoted)
    expect(parseInfo(await oldMaster!.cli('INFO', 'replication')).get('role')).toBe('slave')

    expect(await replica!.cli('GET', 'before')).toBe('1')
    expect(await replica!.cli('SET', 'after', '2')).toBe('OK')
    // The demoted master rejects writes: it is now a read-only replica that catches up with the new master.
    expect(await oldMaster!.cli('SET', 'nope', '3')).toMatch(/READONLY/)
    await pollUntil('the write to reach the demoted master', async () =>
      (await oldMaster!.cli('GET', 'after')) === '2' ? true : undefined,
    )
  })
})
