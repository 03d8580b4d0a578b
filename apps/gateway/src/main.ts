#!/usr/bin/env node
/**
 * The gateway's entry point: `node apps/gateway/dist/main.js [--dev]` (gateway-process.ts).
 *
 * Loading the gateway's modules takes a few hundred milliseconds. A SIGTERM or SIGINT in that
 * time would kill the process with the default action, so this module keeps them before
 * loading anything, and the gateway acts on them once it runs.
 */

const earlySignals: NodeJS.Signals[] = []
const keep = (signal: NodeJS.Signals): void => {
  earlySignals.push(signal)
}
process.on('SIGTERM', keep).on('SIGINT', keep)
const { runGateway } = await import('./gateway-process.js')
runGateway(earlySignals)
process.off('SIGTERM', keep).off('SIGINT', keep)
