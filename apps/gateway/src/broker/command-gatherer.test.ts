import { describe, expect, it } from 'vitest'
import { CommandGatherer, splitByGroup } from './command-gatherer.js'

describe('splitByGroup', () => {
  it('groups in order of first appearance, and caps each command', () => {
    const items = ['x1', 'y1', 'x2', 'x3', 'y2']
    expect(splitByGroup(items, (item) => item[0]!, 2)).toEqual([[0, 2], [3], [1, 4]])
  })
})

describe('CommandGatherer', () => {
  it('resolves each request with its own result, whichever command carried it', async () => {
    const sent: string[][] = []
    const gatherer = new CommandGatherer<string, string>(
      async (keys) => {
        sent.push([...keys])
        return keys.map((key) => `tail of ${key}`)
      },
      (keys) => splitByGroup(keys, (key) => key[0]!, 1_000),
    )
    const tails = await Promise.all(['a1', 'b1', 'a2'].map((key) => gatherer.request(key)))
    expect(sent).toEqual([['a1', 'a2'], ['b1']])
    expect(tails).toEqual(['tail of a1', 'tail of b1', 'tail of a2'])
  })
})
