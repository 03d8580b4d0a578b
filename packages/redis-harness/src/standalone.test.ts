import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './free-port.js'
import type { RedisServer } from './redis-server.js'
import { startRedis } from './standalone.js'

describe('freePort', () => {
  it('returns a bindable port that is not the shared 6379', async () => {
    const port = await freePort()
    expect(port).toBeGreaterThan(0)
    expect(port).not.toBe(6379)
  })

  it("picks below the kernel's ephemeral range, where no outgoing connection can take the port first", async () => {
    const [low] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number)
    // Picked at once: none may be handed out twice while its bind is tried.
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()))
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000)
      expect(port).toBeLessThan(low!)
    }
    expect(new Set(ports).size).toBe(ports.length)
  })
})

describe('startRedis', () => {
  let server: RedisServer

  beforeAll(async () => {
    server = await startRedis({ args: ['--maxmemory', '64mb'] })
  })

  afterAll(async () => {
    await server.stop()
  })

  it('serves on its own loopback port with the requested config', async () => {
    expect(server.port).not.toBe(6379)
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    expect(server.pid).toBeTypeOf('number')
    expect(await server.cli('PING')).toBe('PONG')
    expect(await server.cli('CONFIG', 'GET', 'maxmemory')).toBe(`maxmemory\n${64 * 1024 * 1024}`)
    expect(await server.cli('CONFIG', 'GET', 'save')).toBe('save')
    expect(await server.cli('CONFIG', 'GET', 'appendonly')).toBe('appendonly\nno')
  })

  it('stores data, loses it on kill, and comes back empty on the same port after restart', async () => {
    expect(await server.cli('SET', 'greeting', 'hello')).toBe('OK')
    expect(await server.cli('GET', 'greeting')).toBe('hello')
    const oldPid = server.pid

    await server.kill()
    expect(server.pid).toBeUndefined()
    await expect(server.cli('PING')).rejects.toThrow(/Connection refused/)

    await server.restart()
    expect(server.pid).toBeTypeOf('number')
    expect(server.pid).not.toBe(oldPid)
    expect(await server.cli('PING')).toBe('PONG')
    expect(await server.cli('EXISTS', 'greeting')).toBe('0')
  })

  it('stops idempotently and can be restarted after a stop', async () => {
    await Promise.all([server.stop(), server.stop()])
    expect(server.pid).toBeUndefined()
    await expect(server.cli('PING')).rejects.toThrow()

    await server.restart()
    expect(await server.cli('PING')).toBe('PONG')
  })
})

describe('startRedis with a wrapper', () => {
  it('runs redis-server under the wrapper command, in the process the harness tracks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-wrapper-'))
    const marker = join(dir, 'pid')
    // The wrapper records its own pid, then becomes redis-server in that same process.
    const wrapped = await startRedis({ wrapper: ['sh', '-c', `echo $$ > ${marker}; exec "$0" "$@"`] })
    try {
      expect(await wrapped.cli('PING')).toBe('PONG')
      expect((await readFile(marker, 'utf8')).trim()).toBe(String(wrapped.pid))
    } finally {
      await wrapped.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('names a wrapper that cannot be run', async () => {
    await expect(startRedis({ wrapper: ['herald-no-such-wrapper'] })).rejects.toThrow(
      /cannot spawn herald-no-such-wrapper/,
    )
  })
})
