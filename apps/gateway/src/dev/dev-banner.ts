/**
 * The banner `--dev` prints on stdout: the demo URL and the secrets it
 * generated. Printed directly, never through the logger, so secrets cannot
 * end up in log pipelines; and only in dev mode.
 */

import type { GatewayConfig } from '../config/config.js'

export function printDevBanner(config: GatewayConfig, url: string): void {
  const lines = [
    '',
    '  Herald is running in dev mode (embedded broker, not for production).',
    '',
    `  Demo:     ${url}/demo`,
    `  Events:   ${url}/v1/events`,
    `  Publish:  curl -X POST ${url}/v1/publish -H 'Authorization: Bearer <PUBLISH_API_KEY>' \\`,
    `              -H 'Content-Type: application/json' -d '{"user":"demo","type":"hello","data":{"text":"hi"}}'`,
    `  Tokens:   curl -X POST ${url}/dev/token -H 'Content-Type: application/json' -d '{"user":"demo"}'`,
  ]
  if (config.generated.jwtSecret !== undefined) lines.push(`  JWT_SECRET=${config.generated.jwtSecret}`)
  if (config.generated.publishApiKey !== undefined) lines.push(`  PUBLISH_API_KEY=${config.generated.publishApiKey}`)
  lines.push('')
  process.stdout.write(`${lines.join('\n')}\n`)
}
