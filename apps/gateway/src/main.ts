#!/usr/bin/env node
/**
 * The gateway's entry point: `node apps/gateway/dist/main.js [--dev]`.
 * Configuration errors end the process with exit code 78 (EX_CONFIG) and a
 * message naming each bad variable. SIGTERM drains, SIGINT stops at once.
 */

import { ConfigProblems, loadConfig } from './config/config.js'
import { printDevBanner } from './dev/dev-banner.js'
import { startGateway } from './server.js'

const EX_CONFIG = 78

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig({ env: process.env, argv: process.argv.slice(2) })
  } catch (error) {
    if (error instanceof ConfigProblems) {
      process.stderr.write(`herald: ${error.message}\n`)
      process.exit(EX_CONFIG)
    }
    throw error
  }
  const starting = startGateway(config)
  // Handlers go in before startup completes: a signal that arrives while the node is
  // starting must not kill it with the default action. SIGTERM (Kubernetes, systemd)
  // drains; SIGINT (Ctrl-C) stops at once.
  const stopWith = (how: 'drain' | 'close') => () => {
    starting
      .then((gateway) => gateway[how]())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      )
  }
  process.once('SIGTERM', stopWith('drain'))
  process.once('SIGINT', stopWith('close'))
  const gateway = await starting
  if (config.dev) printDevBanner(config, gateway.url)
}

main().catch((error: unknown) => {
  process.stderr.write(`herald: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
