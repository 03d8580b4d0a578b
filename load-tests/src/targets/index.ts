/**
 * Starts a target by name.
 */
import { availableParallelism } from 'node:os'
import { startHerald } from './herald.js'
import { startNchan } from './nchan.js'
import { startNodePeer } from './node-peer.js'
import { assertLoopback, type Target, type TargetName, type TargetOptions } from './target.js'

export async function startTarget(name: TargetName, options: TargetOptions): Promise<Target> {
  const target = await start(name, options)
  assertLoopback(target.host)
  return target
}

function start(name: TargetName, options: TargetOptions): Promise<Target> {
  const cores = availableParallelism()
  switch (name) {
    case 'herald':
      return startHerald(options)
    case 'herald-per-core':
      return startHerald({ ...options, nodes: cores }, { proxy: false })
    case 'nchan-memory':
      return startNchan('memory', options)
    case 'nchan-memory-per-core':
      return startNchan('memory', options, cores)
    case 'nchan-redis':
      return startNchan('redis', options)
    default:
      return startNodePeer(name, options)
  }
}

export * from './target.js'
