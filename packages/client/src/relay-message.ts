/**
 * What tabs send each other over the tab share (tab-share.ts): the leader's
 * events, states and refusals, and the joins, answers and handovers between
 * tabs. New kinds are added as kinds of their own: a tab of an older bundle
 * ignores kinds it does not know, and must keep working beside a newer one.
 */

import type { HeraldClientError } from './client-options.js'
import type { ConnectionState } from './stream-connection.js'

/** What tabs send each other. */
export type RelayMessage =
  /** An event the leader (`leader`, its tab id) got from its stream. */
  | {
      readonly kind: 'event'
      readonly leader: string
      readonly type: string
      readonly data: string
      readonly id: string
    }
  /**
   * A `herald.reset` for one tab alone, whose catch-up history no longer covers. A kind of its
   * own: a tab of an older bundle applies every relayed reset, and ignores kinds it does not know.
   */
  | { readonly kind: 'reset'; readonly to: string; readonly data: string; readonly id: string }
  | { readonly kind: 'state'; readonly state: ConnectionState }
  | { readonly kind: 'error'; readonly error: HeraldClientError }
  /** A tab joins: where it stopped. It applies relayed events once the leader answers with `welcome`. */
  /** `resets`: the tab applies a `reset` addressed to it (a tab of an older bundle does not say so). */
  /** `types`: the types the tab listens for (`types` and `on`), which EventSource must be told of. */
  | {
      readonly kind: 'hello'
      readonly tab: string
      readonly lastId: string
      readonly resets?: true
      readonly types?: readonly string[]
    }
  /**
   * A tab that does not lead listens for a new type (`on`): the leader's EventSource must listen
   * for it too, or never dispatches it. A kind of its own, which tabs of an older bundle ignore.
   */
  | { readonly kind: 'listen'; readonly types: readonly string[] }
  | { readonly kind: 'welcome'; readonly tab: string; readonly leader: string }
  /** A tab took the lead: every other tab joins it again. */
  | { readonly kind: 'leading'; readonly tab: string }
