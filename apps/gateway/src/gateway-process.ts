/**
 * The gateway as a process, started by main.ts: configuration, logs, signals and exit codes.
 * Configuration errors end the process with exit code 78 (EX_CONFIG) and a message naming
 * each bad variable. SIGTERM drains, SIGINT stops at once.
 */

import { ConfigProblems, loadConfig } from './config/config.js'
import { printDevBanner } from './dev/dev-banner.js'
import { createLogger, StdoutLog } from './log/logger.js'
import { StartStopped, startGateway } from './server.js'

const EX_CONFIG = 78

// A reader of stdout that has gone (`herald --dev | head -1`) must not take the node down:
// what is written to it from now on is lost, and that is all. The logs handle it in StdoutLog.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
})

const stdoutLog = new StdoutLog()

/** Exits once the log lines written so far are out (or stdout is gone), not with one in flight. */
function exitAfterLogs(code: number): void {
  void stdoutLog.written().then(() => process.exit(code))
}

/** Writes why it stops to stderr, then exits: not before the pipe has taken it all. */
function exitSaying(text: string, code: number): void {
  process.stderr.write(text, () => exitAfterLogs(code))
}

/**
 * Runs the gateway. `earlySignals` arrived while the modules were loading (main.ts kept them);
 * the handlers here are installed before this returns, so no signal falls between the two.
 */
export function runGateway(earlySignals: readonly NodeJS.Signals[]): void {
  main(earlySignals).catch((error: unknown) => {
    // Bad configuration (or a HOST or PORT it cannot listen on) names each variable: exit 78.
    if (error instanceof ConfigProblems) {
      exitSaying(`herald: ${error.message}\n`, EX_CONFIG)
      return
    }
    exitSaying(`herald: failed to start: ${error instanceof Error ? error.message : String(error)}\n`, 1)
  })
}

async function main(earlySignals: readonly NodeJS.Signals[]): Promise<void> {
  const config = loadConfig({ env: process.env, argv: process.argv.slice(2) })
  const logger = createLogger(config.logLevel, stdoutLog, config.secrets)
  const stopping = new AbortController()
  const starting = startGateway(config, { logger, stopping: stopping.signal })
  // Handlers go in before startup completes: a signal that arrives while the node is
  // starting must not kill it with the default action. SIGTERM (Kubernetes, systemd)
  // drains; SIGINT (Ctrl-C) stops at once. Either one during startup ends the start where
  // it is (waiting up to 5 s for Redis), before the node listens: it has nothing to drain.
  const stopWith = (how: 'drain' | 'close') => () => {
    stopping.abort()
    starting.then(
      (gateway) =>
        gateway[how]().then(
          () => exitAfterLogs(0),
          () => exitAfterLogs(1),
        ),
      // A start that failed is runGateway's to report, with its own exit code (78 for a HOST).
      () => undefined,
    )
  }
  // A second SIGTERM (an impatient supervisor) must not cut the drain short with the default
  // action; a SIGINT still stops at once, and a second SIGINT is the default: kill.
  const drain = stopWith('drain')
  let draining = false
  process.on('SIGTERM', () => {
    if (!draining) drain()
    draining = true
  })
  process.once('SIGINT', stopWith('close'))
  if (earlySignals.includes('SIGINT')) process.emit('SIGINT')
  else if (earlySignals.includes('SIGTERM')) process.emit('SIGTERM')
  const gateway = await starting.catch((error: unknown) => {
    if (!(error instanceof StartStopped)) throw error
    logger.info('gateway stopped before it started')
    exitAfterLogs(0)
    return undefined
  })
  if (gateway !== undefined && config.dev) printDevBanner(config, gateway.url, gateway.address)
}
