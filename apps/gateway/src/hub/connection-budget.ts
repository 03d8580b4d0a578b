/**
 * Connection budgets: a node-wide cap and a per-user cap. Pure counting, so
 * the rules are tested without sockets; the events route asks before it
 * opens a stream and releases when the stream closes.
 */

export type BudgetVerdict = 'ok' | 'over_capacity' | 'user_limit'

export class ConnectionBudget {
  readonly #perUser = new Map<string, number>()
  #total = 0

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerUser: number,
  ) {}

  get total(): number {
    return this.#total
  }

  tryAcquire(userId: string): BudgetVerdict {
    if (this.#total >= this.maxConnections) return 'over_capacity'
    const current = this.#perUser.get(userId) ?? 0
    if (current >= this.maxPerUser) return 'user_limit'
    this.#perUser.set(userId, current + 1)
    this.#total++
    return 'ok'
  }

  release(userId: string): void {
    const current = this.#perUser.get(userId)
    if (current === undefined) return
    if (current <= 1) this.#perUser.delete(userId)
    else this.#perUser.set(userId, current - 1)
    this.#total--
  }
}
