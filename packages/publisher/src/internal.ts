/**
 * @herald/publisher/internal: the parts of the SDK the gateway, the load tests
 * and the test harness share with it (key names, Redis targets and clients,
 * the functions' plumbing, the data rules). Not public API: it changes with
 * the workspace, without notice.
 */

export { whenConnected } from './connection-ready.js'
export { callHeraldFunction, installedHeraldVersion, isFunctionMissing } from './functions.js'
export { MAX_FUNCTION_LIMIT, parseHeraldFunctions } from './herald-functions.js'
export { closingQuote, dataProblem, MAX_DATA_DEPTH, nestsDeeperThan } from './json-data.js'
export { calculateSlot, channelKeyOfPubsub, channelSlot, idempotencyKey, pubsubChannel, streamKey } from './keys.js'
export { type EncodedMessage, encodeMessage } from './message.js'
export { isRefusedByMigration } from './migration-retry.js'
export { redisErrorMessage } from './publish-error.js'
export { HISTORY_SETTING_RANGES } from './publisher-options.js'
export {
  compactJson,
  duplicateMember,
  hasLoneSurrogateEscape,
  itemMemberTexts,
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
