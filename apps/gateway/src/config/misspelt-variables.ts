/**
 * Environment variables that look like a misspelling of one Herald reads (`PUBLISH_WAIT_REPLICA`,
 * `LOGLEVEL`, `redis_url`). Unread, such a variable leaves its setting at the default without a
 * word, and some defaults are the unsafe side of a choice (no wait for replicas). Reported as
 * warnings, not errors: the environment also holds variables meant for others (Kubernetes adds
 * one per Service), and one of those may be near a name by chance.
 */

/** A variable `name` that is likely a misspelling of the read variable `meant`. */
export interface MisspeltVariable {
  readonly name: string
  readonly meant: string
}

export function misspeltVariables(names: Iterable<string>, read: ReadonlySet<string>): MisspeltVariable[] {
  const found: MisspeltVariable[] = []
  for (const name of names) {
    if (read.has(name)) continue
    const upper = name.toUpperCase()
    for (const meant of read) {
      // One edit in a short name (PORT, HOST), two in a longer one.
      const allowed = meant.length <= 6 ? 1 : 2
      if (upper === meant || editDistance(upper, meant, allowed) <= allowed || wordsNear(upper, meant)) {
        found.push({ name, meant })
        break
      }
    }
  }
  return found
}

/**
 * A word less (CORS_ORIGINS), with at least two left; a filler word more (PUBLISH_WAIT_FOR_REPLICAS,
 * PUBLISH_WAIT_REPLICAS_COUNT); Herald's name before one it reads (HERALD_REDIS_URL); or the unit
 * left out or swapped (RETRY, HEARTBEAT_INTERVAL_SECONDS): too far apart in letters, and as
 * silently at their defaults. Not any word more: platforms set REDIS_TLS_URL (Heroku),
 * REDIS_PUBLIC_URL (Railway) and JWT_SECRET_KEY beside the variables they mean, nor HERALD_PORT,
 * which Kubernetes sets for a Service named herald.
 */
function wordsNear(name: string, meant: string): boolean {
  const words = name.split('_')
  const meantWords = meant.split('_')
  const unit = meantWords.at(-1)!
  if (UNITS.has(unit)) {
    const base = meantWords.slice(0, -1).join('_')
    if (name === base || (UNITS.has(words.at(-1)!) && words.slice(0, -1).join('_') === base)) return true
  }
  if (name === `HERALD_${meant}`) return meant !== 'PORT'
  if (words.length === meantWords.length - 1 && words.length >= 2) return withoutOneWord(meantWords, name)
  if (words.length === meantWords.length + 1) return withoutOneWord(words, meant, (word) => FILLER_WORDS.has(word))
  return false
}

/** Whether dropping one of `words` that `droppable` allows spells `name`. */
function withoutOneWord(
  words: readonly string[],
  name: string,
  droppable: (word: string) => boolean = () => true,
): boolean {
  return words.some((word, skipped) => droppable(word) && words.filter((_, i) => i !== skipped).join('_') === name)
}

const FILLER_WORDS: ReadonlySet<string> = new Set(['FOR', 'OF', 'TO', 'COUNT', 'NUM', 'NUMBER', 'MAX'])

const UNITS: ReadonlySet<string> = new Set([
  'MS',
  'MILLIS',
  'S',
  'SEC',
  'SECS',
  'SECONDS',
  'BYTES',
  'B',
  'KB',
  'MINUTES',
])

/**
 * Insertions, deletions, substitutions and swaps of two neighbours that turn `a` into `b`
 * (optimal string alignment), or `limit + 1` once it is sure to be more than `limit`.
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let before: number[] = []
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let distance = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, before[j - 2]! + 1)
      }
      current.push(distance)
      rowMin = Math.min(rowMin, distance)
    }
    if (rowMin > limit) return limit + 1
    before = previous
    previous = current
  }
  return Math.min(previous[b.length]!, limit + 1)
}
