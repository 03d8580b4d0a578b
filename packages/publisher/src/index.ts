/**
 * @herald/publisher: publish Herald notifications through Redis from Node.
 */

export { whenConnected } from './connection-ready.js'
export {
  callHeraldFunction,
  installedHeraldVersion,
  isFunctionMissing,
  loadHeraldFunctions,
  type RedisClient,
} from './functions.js'
export {
  FUNCTION_LIBRARY_NAME,
  FUNCTION_LIBRARY_VERSION,
  heraldFunctions,
  MAX_FUNCTION_LIMIT,
  parseHeraldFunctions,
} from './herald-functions.js'
export { closingQuote, dataProblem, MAX_DATA_DEPTH, nestsDeeperThan } from './json-data.js'
export { calculateSlot, channelKeyOfPubsub, channelSlot, idempotencyKey, pubsubChannel, streamKey } from './keys.js'
export { type EncodedMessage, encodeMessage, type Message, type Target } from './message.js'
export { isRefusedByMigration } from './migration-retry.js'
export { PublishError, type PublishErrorCode, redisErrorMessage } from './publish-error.js'
export { HeraldPublisher, PUBLISHING_CLIENT_OPTIONS, type PublisherOptions } from './publisher.js'
export { HISTORY_SETTING_RANGES } from './publisher-options.js'
export {
  compactJson,
  duplicateMember,
  hasLoneSurrogateEscape,
  itemMemberTexts,
  JsonText,
  memberText,
  sourceDataProblem,
} from './raw-json.js'
export {
  type ClientOptions,
  createRedisClient,
  type HostPort,
  parseRedisTarget,
  type RedisTarget,
  redisPassword,
} from './redis-target.js'
export { quitWithin, settledWithin } from './settled-within.js'
