/**
 * Secrets at work: two publish keys valid at once for rotation (and no third), and
 * a gateway process whose every log line, at trace level, is scanned for the tokens,
 * publish keys, JWT secret and Redis password it handled.
 */

import { startRedis, startRedisCluster } from '@herald/redis-harness'
import { describe, expect, it } from 'vitest'
import {
  postJson,
  RawSseStream,
  RecordingEventSource,
  signToken,
  startGatewayProcess,
  TEST_API_KEY,
  TEST_SECRET,
} from './harness.js'

const NEXT_API_KEY = 'next-publish-key-9876543210'
const REDIS_PASSWORD = 'redis-password-that-must-not-leak'

describe('publish key rotation', () => {
  it('publishes with either of the two configured keys, and refuses a third', async () => {
    const { process, url } = await startGatewayProcess({ PUBLISH_API_KEY: `${TEST_API_KEY},${NEXT_API_KEY}` })
    try {
      const client = new RecordingEventSource(`${url}/v1/events`, { token: await signToken('rotating') })
      await client.waitForReady()
      const publish = (data: string, key: string) => postJson(`${url}/v1/publish`, { user: 'rotating', data }, key)
      expect((await publish('old key', TEST_API_KEY)).status).toBe(200)
      expect((await publish('new key', NEXT_API_KEY)).status).toBe(200)
      const third = await publish('third key', 'a-third-key-nobody-configured')
      expect([third.status, third.body.error.code]).toEqual([401, 'HERALD_ERR_PUBLISH_KEY_INVALID'])
      await client.waitForEvents(2)
      expect(client.payloads()).toEqual(['old key', 'new key'])
      client.close()
    } finally {
      await process.stop()
    }
  })
})

describe('logs', () => {
  it('never carry a token, publish key, JWT secret or Redis password, whatever the requests', async () => {
    const redis = await startRedis({ args: ['--requirepass', REDIS_PASSWORD] })
    const redisUrl = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`
    const { process, url } = await startGatewayProcess({
      LOG_LEVEL: 'trace',
      REDIS_URL: redisUrl,
      PUBLISH_API_KEY: `${TEST_API_KEY},${NEXT_API_KEY}`,
    })
    const token = await signToken('alice')
    const expired = await signToken('alice', { expiresIn: Math.floor(Date.now() / 1000) - 60 })
    const foreign = await signToken('alice', {}, 'a-secret-this-gateway-does-not-know!!')
    const tokens = [token, expired, foreign]
    try {
      // Streams that succeed, by header, query and cookie.
      const header = new RecordingEventSource(`${url}/v1/events`, { token })
      await header.waitForReady()
      header.close()
      for (const [events, headers] of [
        [`${url}/v1/events?access_token=${token}`, {}],
        [`${url}/v1/events`, { Cookie: `herald_token=${token}` }],
      ] as const) {
        const stream = new RawSseStream(events, headers)
        await stream.until((s) => s.events.some((e) => e.type === 'herald.ready'), 15_000, 'herald.ready')
        stream.close()
      }
      // Refusals: expired, foreign and garbage tokens in every place a token can go.
      for (const bad of [expired, foreign, `${token}x`, token.split('.').slice(0, 2).join('.')]) {
        await fetch(`${url}/v1/events?access_token=${bad}`)
        await fetch(`${url}/v1/events`, { headers: { Authorization: `Bearer ${bad}` } })
        await fetch(`${url}/v1/events`, { headers: { Cookie: `herald_token=${bad}` } })
      }
      // Publishes with both keys, a wrong key, a subscriber token, and a broken body.
      for (const key of [TEST_API_KEY, NEXT_API_KEY, `${TEST_API_KEY}x`, token]) {
        await postJson(`${url}/v1/publish`, { user: 'alice', data: { key } }, key)
      }
      await postJson(`${url}/v1/publish`, `{"user":"alice","data":"${NEXT_API_KEY}"`, NEXT_API_KEY)
      // Keys and the secret where no credential belongs, under names that do not say so, and
      // spelt with an escape: the access log writes the URL it was sent.
      const misplaced = [
        `/v1/publish?k=${TEST_API_KEY}`,
        `/${NEXT_API_KEY}`,
        `/v1/events?x=Bearer+${TEST_API_KEY}`,
        `/v1/events?topics=%${NEXT_API_KEY.charCodeAt(0).toString(16)}${NEXT_API_KEY.slice(1)}`,
        `/healthz?s=${encodeURIComponent(TEST_SECRET)}`,
        `/v1/events?p=${REDIS_PASSWORD}`,
      ]
      for (const path of misplaced) {
        for (const method of ['GET', 'POST'])
          expect((await fetch(`${url}${path}`, { method })).status).toBeLessThan(500)
      }
      // Redis going away and coming back makes the node log its connection errors.
      await redis.kill()
      await process.waitForOutput(/redis subscriber lost/)
      await redis.restart()
      await process.waitForOutput(/redis subscriber back/, 30_000)
    } finally {
      expect(await process.stop()).toBe(0)
      await redis.stop()
    }
    const logs = process.output()
    // The requests above were logged, with their credentials censored.
    expect(logs).toMatch(/access_token=\[redacted\]/)
    expect(logs).toMatch(/"status":401/)
    expect(logs).toMatch(/"url":"\/v1\/publish","status":200/)
    expect(logs).toContain('"url":"/v1/publish?k=[redacted]"')
    expect(logs).toContain('"url":"/[redacted]"')
    for (const secret of [
      ...tokens,
      ...tokens.map((t) => t.split('.')[2]!),
      TEST_API_KEY,
      NEXT_API_KEY,
      TEST_SECRET,
      REDIS_PASSWORD,
      redisUrl,
    ]) {
      expect(logs).not.toContain(secret)
    }
  })

  it("name a Redis Cluster's refused login, which ioredis reports only as 'Failed to refresh slots cache.', without its password", async () => {
    const cluster = await startRedisCluster()
    for (const master of cluster.masters) {
      await master.cli('ACL', 'SETUSER', 'gateway', 'on', '>the-right-password', '~*', '&*', '+@all')
    }
    const { process } = await startGatewayProcess({
      REDIS_URL: cluster.url.replace('://', `://gateway:${REDIS_PASSWORD}@`),
    })
    try {
      await process.waitForOutput(
        /"err":"Failed to refresh slots cache\. WRONGPASS [^"]*","msg":"redis connection error"/,
      )
    } finally {
      expect(await process.stop()).toBe(0)
      await cluster.stop()
    }
    expect(process.output()).not.toContain(REDIS_PASSWORD)
  })
})
