/**
 * @herald/publisher: publish Herald notifications through Redis from Node.
 * This is the public API; what the gateway and the tooling share with the SDK
 * besides it is in `@herald/publisher/internal`, outside any promise of
 * stability.
 */

export { loadHeraldFunctions, type RedisClient } from './functions.js'
export { FUNCTION_LIBRARY_NAME, FUNCTION_LIBRARY_VERSION, heraldFunctions } from './herald-functions.js'
export type { Message, Target } from './message.js'
export { PublishError, type PublishErrorCode } from './publish-error.js'
export { HeraldPublisher, PUBLISHING_CLIENT_OPTIONS, type PublisherOptions } from './publisher.js'
export { JsonText } from './raw-json.js'
