import { describe, expect, it } from 'vitest'
import { isRefusedByMigration, sendThroughMigration } from './migration-retry.js'
import { PublishError } from './publish-error.js'

const TRYAGAIN = 'TRYAGAIN Multiple keys request during rehashing of slot'

function replyError(message: string): Error {
  const error = new Error(message)
  error.name = 'ReplyError'
  return error
}

/** A send refused `refusals` times, then answered; and the pauses it was made to wait. */
function refusedThenAnswered(refusals: number) {
  const sends: number[] = []
  const pauses: number[] = []
  return {
    sends,
    pauses,
    send: async () => {
      sends.push(sends.length)
      if (sends.length <= refusals) throw replyError(TRYAGAIN)
      return 'answered'
    },
    pause: async (ms: number) => {
      pauses.push(ms)
    },
  }
}

/** A publish with `timeoutMs` left on a clock that only the pauses move. */
function clockedPublish(timeoutMs: number) {
  let nowMs = 0
  const publish = { expired: false, timeoutMs, deadlineAt: timeoutMs, refusedByMigration: false }
  return {
    publish,
    now: () => nowMs,
    pass: (ms: number) => {
      nowMs += ms
    },
  }
}

describe('sendThroughMigration', () => {
  it('sends again after each refusal, its pauses doubling up to 400 ms', async () => {
    const call = refusedThenAnswered(6)
    const { publish, now } = clockedPublish(5_000)
    expect(await sendThroughMigration(call.send, publish, call.pause, now)).toBe('answered')
    expect(call.sends).toHaveLength(7)
    expect(call.pauses).toEqual([50, 100, 200, 400, 400, 400])
  })

  it('fails with the refusal once its next attempt would come after the deadline: nothing ran', async () => {
    const call = refusedThenAnswered(Number.POSITIVE_INFINITY)
    const clock = clockedPublish(1_000)
    const sent = sendThroughMigration(
      call.send,
      clock.publish,
      async (ms) => {
        call.pauses.push(ms)
        clock.pass(ms)
      },
      clock.now,
    )
    const failure = await sent.catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(PublishError)
    expect(failure).toMatchObject({
      code: 'HERALD_ERR_REDIS',
      timedOut: true,
      message:
        'Redis refused the publish while a Cluster slot migrated (TRYAGAIN) until its 1000 ms deadline; the call it refused wrote nothing',
      cause: replyError(TRYAGAIN),
    })
    // Sent at 0, 50, 150, 350 and 750 ms: one more would be at 1,150.
    expect(call.pauses).toEqual([50, 100, 200, 400])
    expect(call.sends).toHaveLength(5)
  })

  it('judges whether the next attempt fits by how long the last one took', async () => {
    const clock = clockedPublish(1_000)
    const sends: number[] = []
    const pauses: number[] = []
    const sent = sendThroughMigration(
      async () => {
        sends.push(clock.now())
        clock.pass(300)
        throw replyError(TRYAGAIN)
      },
      clock.publish,
      async (ms) => {
        pauses.push(ms)
        clock.pass(ms)
      },
      clock.now,
    )
    await expect(sent).rejects.toThrow(/wrote nothing$/)
    // Refused at 300 and 650 ms: a third attempt, sent at 750, would be answered at 1,050.
    expect(sends).toEqual([0, 350])
    expect(pauses).toEqual([50])
    expect(clock.publish.refusedByMigration).toBe(true)
  })

  it('never sends again once its publish expired during a pause: its caller was told it failed', async () => {
    const call = refusedThenAnswered(1)
    const { publish, now } = clockedPublish(5_000)
    const sent = sendThroughMigration(
      call.send,
      publish,
      async () => {
        publish.expired = true
      },
      now,
    )
    await expect(sent).rejects.toThrow(TRYAGAIN)
    expect(call.sends).toHaveLength(1)
  })

  it('passes any other failure straight on', async () => {
    const closed = new Error('Connection is closed.')
    const { publish, now } = clockedPublish(5_000)
    const pauses: number[] = []
    const sent = sendThroughMigration(
      async () => {
        throw closed
      },
      publish,
      async (ms) => {
        pauses.push(ms)
      },
      now,
    )
    await expect(sent).rejects.toBe(closed)
    expect(pauses).toEqual([])
  })
})

describe('isRefusedByMigration', () => {
  it.each([
    [TRYAGAIN, true],
    [`Too many Cluster redirections. Last error: ReplyError: ${TRYAGAIN}`, true],
    ['Too many Cluster redirections. Last error: ReplyError: ASK 866 127.0.0.1:7001', true],
    ['Too many Cluster redirections. Last error: ReplyError: MOVED 866 127.0.0.1:7001', true],
    ['Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down', true],
    // ioredis names whatever error came last: a call that met a closed connection may have run.
    ['Too many Cluster redirections. Last error: Error: Connection is closed.', false],
    ['Connection is closed.', false],
    ['ERR unknown command', false],
  ])('%s: %s', (message, refused) => {
    expect(isRefusedByMigration(new Error(message))).toBe(refused)
  })
})
