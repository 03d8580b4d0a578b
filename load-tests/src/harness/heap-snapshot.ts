/**
 * What a V8 heap snapshot holds, summed by constructor: the `.heapsnapshot` JSON keeps every
 * node as a flat run of integers described by `snapshot.meta`. Two snapshots taken at different
 * stream counts give the heap each stream adds, by kind of object. Pure, so it is tested on a
 * hand-written snapshot.
 */

export interface HeapSnapshotJson {
  readonly snapshot: {
    readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly [readonly string[]] }
  }
  readonly nodes: readonly number[]
  readonly strings: readonly string[]
}

export interface HeapGroup {
  readonly count: number
  readonly bytes: number
}

/** Groups with a constructor name keep it; the rest are named by their V8 type, e.g. `(string)`. */
const NAMED_TYPES = new Set(['object', 'closure', 'native'])

export function heapByConstructor(snapshot: HeapSnapshotJson): Map<string, HeapGroup> {
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const groups = new Map<string, { count: number; bytes: number }>()
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!
    const name = NAMED_TYPES.has(type)
      ? `${type === 'closure' ? 'closure ' : ''}${snapshot.strings[snapshot.nodes[i + nameAt]!]}`
      : `(${type})`
    const group = groups.get(name) ?? { count: 0, bytes: 0 }
    group.count += 1
    group.bytes += snapshot.nodes[i + sizeAt]!
    groups.set(name, group)
  }
  return groups
}

export interface PerStreamRow {
  readonly name: string
  /** Objects of this kind each stream adds. */
  readonly count: number
  /** Heap bytes of this kind each stream adds. */
  readonly bytes: number
}

/** What each of `streams` extra streams added between two summaries, largest first. */
export function perStream(
  before: ReadonlyMap<string, HeapGroup>,
  after: ReadonlyMap<string, HeapGroup>,
  streams: number,
): PerStreamRow[] {
  return [...after]
    .map(([name, group]) => ({
      name,
      count: (group.count - (before.get(name)?.count ?? 0)) / streams,
      bytes: (group.bytes - (before.get(name)?.bytes ?? 0)) / streams,
    }))
    .sort((a, b) => b.bytes - a.bytes)
}
