import { describe, expect, it } from 'vitest'
import { markdownTable } from './markdown-table.js'

describe('markdownTable', () => {
  it('writes the header, a separator per column and a line per row', () => {
    expect(
      markdownTable(
        ['way', 'µs'],
        [
          ['herald', 3.5],
          ['ioredis-default', 4],
        ],
      ),
    ).toBe('| way | µs |\n|---|---|\n| herald | 3.5 |\n| ioredis-default | 4 |')
  })

  it('is a header alone when there are no rows', () => {
    expect(markdownTable(['a', 'b', 'c'], [])).toBe('| a | b | c |\n|---|---|---|')
  })
})
