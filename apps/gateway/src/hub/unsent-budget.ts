/**
 * A bound on what all of a node's streams hold unsent together. Each stream is cut once it holds
 * MAX_PENDING_BYTES, but under that bound a few hundred clients that stop reading at once (a
 * mobile network dropping its users, a proxy that stalls) each kept about a mebibyte in the
 * node's memory: 650–850 stalled streams in a probe, as much as a 1 GiB pod holds, and an
 * out-of-memory kill sends every stream of the node into a reconnect storm. Past the budget, the
 * streams that hold the most are cut as slow consumers, and resume from their position once
 * their clients read again: nothing is lost. Checked once a second from a scan, which costs the
 * write path nothing.
 */

export interface UnsentHolder {
  readonly unsentBytes: number
}

/**
 * The holders to cut so that what the rest hold is within `budgetBytes`: the largest first, since
 * the fewest cuts free the most, and a stalled client holds more than one that merely reads slowly.
 * Only those `mayCut` takes count: a stream sending its replay in one write holds all of it at
 * first, however fast its client reads (cut for it, it would come back for the same replay), and
 * counted while left alone, a reconnect storm's replays had every live stream holding a byte cut,
 * every second, freeing nothing.
 */
export function overUnsentBudget<T extends UnsentHolder>(
  holders: Iterable<T>,
  budgetBytes: number,
  mayCut: (holder: T) => boolean = () => true,
): T[] {
  let total = 0
  const holding: Array<{ holder: T; bytes: number }> = []
  for (const holder of holders) {
    const bytes = holder.unsentBytes
    if (bytes === 0 || !mayCut(holder)) continue
    total += bytes
    holding.push({ holder, bytes })
  }
  if (total <= budgetBytes) return []
  holding.sort((a, b) => b.bytes - a.bytes)
  const cut: T[] = []
  for (const { holder, bytes } of holding) {
    if (total <= budgetBytes) break
    cut.push(holder)
    total -= bytes
  }
  return cut
}
