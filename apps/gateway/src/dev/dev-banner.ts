/**
 * The banner `--dev` prints for the terminal: the address it listens on, the
 * demo URL and the secrets it generated. On stderr, never through the logger
 * or on stdout, which a log pipeline collects (JSON lines only), so the
 * secrets stay out of it; and only in dev mode.
 */

import { type GatewayConfig, isLoopback } from '../config/config.js'
import { mintsTokens } from './dev-routes.js'

/** `address` is the one actually bound (`host:port`); `url` is how to reach it from this machine. */
export function printDevBanner(config: GatewayConfig, url: string, address: string): void {
  // The curl line only where it works: with a public key or a JWKS, /dev/token answers 404.
  const minting = mintsTokens(config.jwt)
  const lines = [
    '',
    `  Herald is running in dev mode (${config.redis === undefined ? 'embedded broker' : `Redis, ${config.redis.kind}`}, not for production).`,
    '',
    ...(isLoopback(hostOf(address))
      ? [`  Listening: ${address} (loopback only)`]
      : [
          `  Listening: ${address}`,
          '  WARNING:  reachable from other machines (DEV_ALLOW_REMOTE=true): anyone who can connect',
          `            can ${minting ? 'mint tokens and ' : ''}publish without a key.`,
        ]),
    // The page mints its tokens too: without that it could never connect.
    minting ? `  Demo:     ${url}/demo` : '  Demo:     needs JWT_SECRET (the page mints its tokens at /dev/token)',
    `  Events:   ${url}/v1/events`,
    `  Publish:  curl -X POST ${url}/v1/publish -H 'Authorization: Bearer <PUBLISH_API_KEY>' \\`,
    `              -H 'Content-Type: application/json' -d '{"user":"demo","type":"hello","data":{"text":"hi"}}'`,
    ...(minting
      ? [`  Tokens:   curl -X POST ${url}/dev/token -H 'Content-Type: application/json' -d '{"user":"demo"}'`]
      : []),
  ]
  if (config.generated.jwtSecret !== undefined) lines.push(`  JWT_SECRET=${config.generated.jwtSecret}`)
  if (config.generated.publishApiKey !== undefined) lines.push(`  PUBLISH_API_KEY=${config.generated.publishApiKey}`)
  lines.push('')
  process.stderr.write(`${lines.join('\n')}\n`)
}

/** The host of `host:port`, without the brackets of an IPv6 address. */
function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'))
  return host.startsWith('[') ? host.slice(1, -1) : host
}
