/**
 * @herald/client: Herald's browser SDK. One shared, resuming connection per
 * browser, typed notifications, and a hook for fresh tokens.
 */

export type { ResetReason } from '@herald/protocol'
export { backoffDelay } from './backoff.js'
export { type ConnectionState, HeraldClient } from './client.js'
export type * from './client-options.js'
export type { KeyValueStorage } from './last-id-store.js'
