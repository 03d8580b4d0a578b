/**
 * Waiting for an ioredis client to connect, but not past its failures. ioredis retries a
 * connection for ever, and with Sentinel or Cluster its offline queue holds commands all that
 * time; a caller that must answer (a publish, the CLI) waits for `ready` instead, and gives up
 * once the connection has failed `failures` times. Standalone, Sentinel and Cluster clients all
 * emit `error` once per failed round, so one rule covers the three.
 */

import type { RedisClient } from './functions.js'

/** Resolves when the client is ready; rejects with the connection's error after `failures` failed attempts, or when it ends. */
export function whenConnected(client: RedisClient, failures: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  if (client.status === 'end') return Promise.reject(new Error('Connection is closed.'))
  return new Promise((resolve, reject) => {
    let failed = 0
    const stop = () => {
      client.off('ready', onReady)
      client.off('error', onError)
      client.off('end', onEnd)
    }
    const onReady = () => {
      stop()
      resolve()
    }
    const onError = (error: Error) => {
      if (++failed < failures) return
      stop()
      reject(error)
    }
    const onEnd = () => {
      stop()
      reject(new Error('Connection is closed.'))
    }
    client.on('ready', onReady)
    client.on('error', onError)
    client.on('end', onEnd)
  })
}
