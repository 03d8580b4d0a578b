/**
 * Starts a target by name.
 */
import { availableParallelism } from 'node:os'
import { startHerald } from './herald.js'
import { startNchan } from './nchan.js'
import { startNodePeer } from './node-peer.js'
import { assertLoopback, type Target, type TargetName, type TargetOptions } from './target.js'

export async function startTarget(name: TargetName, options: TargetOptions): Promise<Target> {
  const cores = availableParallelism()
  const target =
    name === 'herald'
      ? await startHerald(options)
      : name === 'herald-per-core'
        ? await startHerald({ ...options, nodes: cores }, { proxy: false })
        : name === 'nchan-memory'
          ? await startNchan('memory', options)
          : name === 'nchan-memory-per-core'
            ? await startNchan('memory', options, cores)
            : name === 'nchan-redis'
              ? await startNchan('redis', options)
              : await startNodePeer(name, options)
  assertLoopback(target.host)
  return target
}

export * from './target.js'
