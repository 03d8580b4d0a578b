/**
 * One Cluster call sent again while a slot migration refuses it. During the move, a call that
 * touches a key neither master holds yet (an idempotency key, a new stream) is redirected (ASK)
 * by one and refused (TRYAGAIN) by the other, and neither runs any of it, so sending it again
 * cannot publish twice. ioredis itself gives up after 16 redirections; a slot with many keys can
 * take longer to move, so this goes on, backing off, until the publish's deadline.
 */

import { setTimeout as delay } from 'node:timers/promises'
import { PublishError, redisCause } from './publish-error.js'

/** The deadline of the publish a call is part of, and whether a migration refused any of its calls. */
export interface MigrationDeadline {
  /** Its caller has been told it failed. */
  readonly expired: boolean
  readonly timeoutMs: number
  /** On `performance.now()`'s clock. */
  readonly deadlineAt: number
  /** A migration refused one of its calls: a deadline that falls later says so, not "did not answer". */
  refusedByMigration: boolean
}

/** The pauses between attempts of a call a slot migration refuses: doubling, capped. */
export const MIGRATION_FIRST_PAUSE_MS = 50
export const MIGRATION_MAX_PAUSE_MS = 400

/**
 * `send`'s answer, sent again after each refusal by a migration while its next attempt could
 * still be answered before the publish's deadline, judged by how long the last one took; then it
 * fails with that refusal, which ran nothing. Left to the deadline, the call was often in flight
 * when it fell (an attempt is ioredis's own 16 tries, 100 ms apart), and its caller was told
 * that Redis did not answer, and that the publish may have been applied.
 */
export async function sendThroughMigration<T>(
  send: () => Promise<T>,
  publish: MigrationDeadline,
  pause: (ms: number) => Promise<unknown> = delay,
  now: () => number = () => performance.now(),
): Promise<T> {
  for (let pauseMs = MIGRATION_FIRST_PAUSE_MS; ; pauseMs = Math.min(2 * pauseMs, MIGRATION_MAX_PAUSE_MS)) {
    const sentAt = now()
    try {
      return await send()
    } catch (error) {
      if (!isRefusedByMigration(error) || publish.expired) throw error
      publish.refusedByMigration = true
      const answeredAt = now()
      if (answeredAt + pauseMs + (answeredAt - sentAt) >= publish.deadlineAt) {
        throw new PublishError(
          'HERALD_ERR_REDIS',
          `${REFUSED_WHILE_MIGRATING} until its ${publish.timeoutMs} ms deadline; the call it refused wrote nothing`,
          { timedOut: true, cause: redisCause(error) },
        )
      }
      await pause(pauseMs)
      // Its caller has been told it failed: sent now, it could publish behind their back.
      if (publish.expired) throw error
    }
  }
}

/** How a publish's failure names a migration's refusals. */
export const REFUSED_WHILE_MIGRATING = 'Redis refused the publish while a Cluster slot migrated (TRYAGAIN)'

/**
 * A refusal that ran nothing: TRYAGAIN, or ioredis out of redirections with a redirection or
 * refusal last. While a slot migrates, a call of several keys that are not all on one side is
 * refused so; a call of one key is redirected (ASK) and runs. ioredis counts every error it
 * retried, and names the last one whatever it was: out of redirections with a closed connection
 * last, the call may have run.
 */
export function isRefusedByMigration(error: unknown): boolean {
  return error instanceof Error && REFUSED_BY_MIGRATION.test(error.message)
}

const REFUSED_BY_MIGRATION =
  /\bTRYAGAIN\b|^Too many Cluster redirections\. Last error: (?:\w*Error: )?(?:ASK|MOVED|CLUSTERDOWN)\b/
