import { describe, expect, it } from 'vitest'
import { type HeapSnapshotJson, heapByConstructor, perStream } from './heap-snapshot.js'

/** A snapshot in V8's layout: each node is [type, name, id, self_size]. */
function snapshot(nodes: Array<[type: number, name: number, size: number]>): HeapSnapshotJson {
  return {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size'],
        node_types: [['hidden', 'array', 'string', 'object', 'closure']],
      },
    },
    nodes: nodes.flatMap(([type, name, size], id) => [type, name, id, size]),
    strings: ['', 'Socket', 'onClose', 'hello'],
  }
}

describe('heapByConstructor', () => {
  it('sums objects by constructor, closures by function name and the rest by V8 type', () => {
    const groups = heapByConstructor(
      snapshot([
        [3, 1, 320],
        [3, 1, 320],
        [4, 2, 56],
        [2, 3, 24],
        [2, 3, 40],
        [1, 0, 16],
      ]),
    )
    expect(Object.fromEntries(groups)).toEqual({
      Socket: { count: 2, bytes: 640 },
      'closure onClose': { count: 1, bytes: 56 },
      '(string)': { count: 2, bytes: 64 },
      '(array)': { count: 1, bytes: 16 },
    })
  })
})

describe('perStream', () => {
  it('divides what was added by the streams added, largest first, counting kinds new in the second', () => {
    const before = heapByConstructor(snapshot([[3, 1, 320]]))
    const after = heapByConstructor(
      snapshot([
        [3, 1, 320],
        [3, 1, 320],
        [3, 1, 320],
        [4, 2, 56],
        [4, 2, 56],
      ]),
    )
    expect(perStream(before, after, 2)).toEqual([
      { name: 'Socket', count: 1, bytes: 320 },
      { name: 'closure onClose', count: 1, bytes: 56 },
    ])
  })
})
