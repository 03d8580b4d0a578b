/**
 * Whether a Redis node may evict Herald's keys. Every key Herald writes has a TTL, so any
 * `maxmemory-policy` but `noeviction` (the `volatile-*` ones too) lets Redis delete a channel's
 * history or an idempotency key under memory pressure, silently: a tab resuming from an
 * evicted history, or from a tail handed out before it, cannot be told what it missed, and a
 * retried publish whose key was evicted is stored twice. With `noeviction`, a full Redis
 * refuses publishes instead (503), and nothing stored is lost.
 */

export interface EvictionPolicy {
  readonly policy: string
  readonly maxmemoryBytes: number
}

/** From `INFO memory`: the node's policy, when it can evict (a memory limit and a policy other than `noeviction`). */
export function evictingPolicy(info: string): EvictionPolicy | undefined {
  const policy = /^maxmemory_policy:([\w-]+)\r?$/m.exec(info)?.[1]
  const maxmemoryBytes = Number(/^maxmemory:(\d+)\r?$/m.exec(info)?.[1] ?? 0)
  // No limit (0) never evicts, whatever the policy; an INFO without the fields says nothing.
  if (policy === undefined || policy === 'noeviction' || maxmemoryBytes === 0) return undefined
  return { policy, maxmemoryBytes }
}
