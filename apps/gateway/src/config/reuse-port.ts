/**
 * Whether this runtime can open SO_REUSEPORT listeners (`listen({ reusePort })`), which
 * LISTEN_SOCKETS above 1 needs: Node.js 23.1.0 or 22.12.0 and later, on a platform that has
 * the option. Node.js before that ignores `reusePort`, so the second socket would fail with
 * EADDRINUSE; a platform without it fails the listen. Both are refused at startup instead.
 */

/** Platforms whose SO_REUSEPORT spreads connections over the sockets, as Node.js documents. */
const REUSE_PORT_PLATFORMS: ReadonlySet<string> = new Set(['linux', 'freebsd', 'sunos', 'aix'])

/** Why `reusePort` is not available here, or `undefined` if it is. */
export function reusePortUnsupported(nodeVersion: string, platform: string): string | undefined {
  const [major = 0, minor = 0] = nodeVersion.replace(/^v/, '').split('.').map(Number)
  const recentEnough = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)
  if (!recentEnough)
    return `needs Node.js 22.12 or later on 22, or 23.1 or later (SO_REUSEPORT listeners); this is ${nodeVersion}`
  if (!REUSE_PORT_PLATFORMS.has(platform)) return `needs SO_REUSEPORT, which Node.js does not offer on ${platform}`
  return undefined
}
