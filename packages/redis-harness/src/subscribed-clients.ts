/**
 * Waiting on a server's subscribed clients: a Sentinel client's failover detectors subscribe to
 * `+switch-master` on every Sentinel and let go of them when a switch is announced, neither of
 * which the client emits an event for, so a test of a failover during a reconnect watches them
 * arrive and go from the Sentinels' side (`CLIENT LIST`).
 */
import { pollUntil } from './poll.js'
import type { RedisServer } from './redis-server.js'

/** How many of the server's clients hold a subscription. */
export async function subscribedClients(server: RedisServer): Promise<number> {
  const clients = (await server.cli('CLIENT', 'LIST')).split('\n')
  return clients.filter((line) => / sub=[1-9]\d* /.test(line)).length
}

/** Resolves once the count of the server's subscribed clients passes `check`. */
export async function untilSubscribedClients(
  server: RedisServer,
  check: (count: number) => boolean,
  description: string,
): Promise<void> {
  await pollUntil(`${description} (subscribed clients on :${server.port})`, async () =>
    check(await subscribedClients(server)) ? true : undefined,
  )
}
