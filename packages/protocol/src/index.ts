/**
 * @herald/protocol: what the gateway, the publisher and the client agree on.
 * Pure functions only; nothing here does I/O.
 */

export {
  type Channel,
  type ChannelKind,
  channelFromKey,
  fnv1a32Hex,
  topicChannel,
  topicChannelKey,
  userChannel,
  userChannelKey,
} from './channel.js'
export {
  frameEvent,
  frameEventBody,
  frameIdAndEnd,
  framePosition,
  frameRetry,
  HEARTBEAT_FRAME,
} from './frame.js'
export {
  eventTypeProblem,
  isTopicGranted,
  isValidIdempotencyKey,
  isValidTopic,
  isValidTopicGrant,
  isValidUserId,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_TYPE_LENGTH,
  RESERVED_TYPE_PREFIX,
} from './names.js'
export {
  decodeResumeToken,
  encodeResumeToken,
  MAX_RESUME_COMPONENTS,
  MAX_RESUME_TOKEN_LENGTH,
  resumeComponent,
} from './resume-token.js'
export { type ParsedEvent, SseParser, type SseParserHandlers } from './sse-parser.js'
export {
  compareStreamIds,
  formatStreamId,
  isAfter,
  nextStreamId,
  parseStreamId,
  STREAM_START,
  type StreamId,
} from './stream-id.js'
export * from './wire.js'
