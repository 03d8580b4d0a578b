import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  commandsOf,
  MAX_CHANNELS_PER_COMMAND,
  MAX_GATHER_MS,
  SubscriptionBatcher,
  type SubscriptionChange,
} from './subscription-batcher.js'

const change = (kind: SubscriptionChange, channel: string) => ({ change: kind, channel })
type Change = ReturnType<typeof change>
const shape = (changes: readonly Change[], commands: ReturnType<typeof commandsOf>) =>
  commands.map((command) => `${changes[command[0]!]!.change} ${command.map((i) => changes[i]!.channel).join(' ')}`)

/** A batcher whose turns the test runs by hand, and the commands it sent. */
function manual(groupOf?: (channel: string) => number | string) {
  const sent: string[] = []
  const replies: Array<{ resolve: () => void; reject: (error: Error) => void }> = []
  let flush: (() => void) | undefined
  const batcher = new SubscriptionBatcher(
    (kind, channels) => {
      sent.push(`${kind} ${channels.join(' ')}`)
      return new Promise<void>((resolve, reject) => replies.push({ resolve, reject }))
    },
    groupOf,
    (run) => {
      flush = run
    },
  )
  /** Runs the turn the batcher asked for, if it asked for one. */
  const turn = () => {
    const run = flush
    flush = undefined
    run?.()
  }
  return { batcher, sent, replies, turn }
}

describe('commandsOf', () => {
  it('puts consecutive changes of one kind in one command, and keeps the order of kinds', () => {
    const changes = [
      change('subscribe', 'a'),
      change('subscribe', 'b'),
      change('unsubscribe', 'a'),
      change('subscribe', 'a'),
      change('subscribe', 'c'),
    ]
    expect(
      shape(
        changes,
        commandsOf(changes, () => ''),
      ),
    ).toEqual(['subscribe a b', 'unsubscribe a', 'subscribe a c'])
  })

  it('splits a run by group, in order of first appearance', () => {
    const slot = (channel: string) => channel[0]!
    const changes = [
      change('subscribe', 'x1'),
      change('subscribe', 'y1'),
      change('subscribe', 'x2'),
      change('subscribe', 'y2'),
    ]
    expect(shape(changes, commandsOf(changes, slot))).toEqual(['subscribe x1 x2', 'subscribe y1 y2'])
  })

  it(`sends at most ${MAX_CHANNELS_PER_COMMAND} channels a command`, () => {
    const many = Array.from({ length: MAX_CHANNELS_PER_COMMAND * 2 + 1 }, (_, i) => change('subscribe', `c${i}`))
    const commands = commandsOf(many, () => '')
    expect(commands.map((c) => c.length)).toEqual([MAX_CHANNELS_PER_COMMAND, MAX_CHANNELS_PER_COMMAND, 1])
    expect(commands.flat()).toEqual(many.map((_, i) => i))
  })
})

describe('SubscriptionBatcher', () => {
  it('sends the changes of one turn together, and each request settles with its command', async () => {
    const { batcher, sent, replies, turn } = manual()
    const first = batcher.request('subscribe', 'a')
    const second = batcher.request('subscribe', 'b')
    expect(sent).toEqual([])
    turn()
    expect(sent).toEqual(['subscribe a b'])
    replies[0]!.resolve()
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined])
  })

  it('fails every request of a command that failed, and only those', async () => {
    const { batcher, sent, replies, turn } = manual()
    const subscribed = batcher.request('subscribe', 'a')
    const left = batcher.request('unsubscribe', 'b')
    turn()
    expect(sent).toEqual(['subscribe a', 'unsubscribe b'])
    replies[0]!.reject(new Error('Connection is closed.'))
    replies[1]!.resolve()
    await expect(subscribed).rejects.toThrow('Connection is closed.')
    await expect(left).resolves.toBeUndefined()
  })

  it('while a command is in flight, gathers the next changes until it is answered', async () => {
    const { batcher, sent, replies, turn } = manual()
    const first = batcher.request('subscribe', 'a')
    turn()
    const later = [
      batcher.request('subscribe', 'b'),
      batcher.request('unsubscribe', 'a'),
      batcher.request('subscribe', 'c'),
    ]
    turn()
    expect(sent).toEqual(['subscribe a'])
    replies[0]!.resolve()
    await first
    turn()
    expect(sent).toEqual(['subscribe a', 'subscribe b', 'unsubscribe a', 'subscribe c'])
    for (const reply of replies.slice(1)) reply.resolve()
    await Promise.all(later)
  })

  it('sends the gathered changes after a failed command too', async () => {
    const { batcher, sent, replies, turn } = manual()
    const first = batcher.request('subscribe', 'a')
    turn()
    const second = batcher.request('subscribe', 'b')
    replies[0]!.reject(new Error('Connection is closed.'))
    await expect(first).rejects.toThrow('Connection is closed.')
    turn()
    expect(sent).toEqual(['subscribe a', 'subscribe b'])
    replies[1]!.resolve()
    await second
  })

  it('waits for every command in flight, not just the first', async () => {
    const { batcher, sent, replies, turn } = manual((channel) => channel[0]!)
    const first = [batcher.request('subscribe', 'x1'), batcher.request('subscribe', 'y1')]
    turn()
    const second = batcher.request('subscribe', 'x2')
    replies[0]!.resolve()
    await first[0]
    turn()
    expect(sent).toEqual(['subscribe x1', 'subscribe y1'])
    replies[1]!.resolve()
    await first[1]
    turn()
    expect(sent).toEqual(['subscribe x1', 'subscribe y1', 'subscribe x2'])
    replies[2]!.resolve()
    await second
  })
})

describe('SubscriptionBatcher behind a command that is never answered', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it(`sends what gathered after ${MAX_GATHER_MS} ms`, () => {
    vi.useFakeTimers()
    const { batcher, sent, turn } = manual()
    void batcher.request('subscribe', 'a')
    turn()
    void batcher.request('subscribe', 'b')
    void batcher.request('subscribe', 'c')
    vi.advanceTimersByTime(MAX_GATHER_MS - 1)
    expect(sent).toEqual(['subscribe a'])
    vi.advanceTimersByTime(1)
    expect(sent).toEqual(['subscribe a', 'subscribe b c'])
    void batcher.request('subscribe', 'd')
    vi.advanceTimersByTime(MAX_GATHER_MS)
    expect(sent).toEqual(['subscribe a', 'subscribe b c', 'subscribe d'])
  })
})

describe('SubscriptionBatcher on the event loop', () => {
  it('flushes on the next turn of the event loop by default', async () => {
    const sent: string[] = []
    const batcher = new SubscriptionBatcher(async (kind, channels) => {
      sent.push(`${kind} ${channels.join(' ')}`)
    })
    await Promise.all([batcher.request('subscribe', 'a'), batcher.request('unsubscribe', 'a')])
    expect(sent).toEqual(['subscribe a', 'unsubscribe a'])
  })
})
