/**
 * Whether MAX_UNSENT_BYTES fits the V8 heap. What streams hold unsent is mostly on the heap (a
 * stalled socket's later writes wait as the strings they were written as), and the bound is
 * checked once a second: set near the heap limit, the heap runs out first. In a probe, 700
 * stalled streams crashed a node with a 256 MiB heap (what Node.js derives in a 1 GiB container)
 * and a 256 MiB bound, at 145 MiB counted unsent and no stream cut; with a 512 MiB heap the same
 * bound held, at 429 MiB of heap used (load-tests/JOURNAL.md, forty-eighth session).
 */

/** Why `maxUnsentBytes` may not protect a heap of `heapSizeLimit` bytes, or `undefined` if it fits. */
export function unsentBudgetProblem(maxUnsentBytes: number, heapSizeLimit: number): string | undefined {
  if (maxUnsentBytes <= heapSizeLimit / 2) return undefined
  return `MAX_UNSENT_BYTES ${maxUnsentBytes} is over half the V8 heap limit (${heapSizeLimit} bytes): what streams hold unsent is on the heap, which can run out before the bound cuts any stream; raise --max-old-space-size (NODE_OPTIONS) or lower MAX_UNSENT_BYTES (its default is a quarter of the heap limit)`
}
