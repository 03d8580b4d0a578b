/**
 * The parts of `GET /v1/events` that are pure parsing: which channels the
 * request asks for (the user's own plus granted topics), from which
 * position it resumes, and query parameters it names wrongly.
 */

import {
  type Channel,
  decodeResumeToken,
  isTopicGranted,
  isValidTopic,
  topicChannel,
  userChannel,
} from '@herald/protocol'
import { TOKEN_QUERY_PARAMETER } from '../auth/token-source.js'
import type { Principal } from '../auth/token-verifier.js'
import { HeraldError } from '../errors/herald-error.js'
import type { RequestedPosition } from '../hub/resume.js'

/** The user's channel first, then each requested topic once, in request order. */
export function channelsFor(principal: Principal, topicsParam: string | undefined, maxTopics: number): Channel[] {
  const channels = [userChannel(principal.userId)]
  if (topicsParam === undefined || topicsParam === '') return channels
  const topics = [...new Set(topicsParam.split(','))]
  if (topics.length > maxTopics) {
    throw new HeraldError(
      'HERALD_ERR_TOPIC_INVALID',
      `topics: at most ${maxTopics} ${maxTopics === 1 ? 'topic' : 'topics'} per connection`,
    )
  }
  for (const topic of topics) {
    if (!isValidTopic(topic)) {
      throw new HeraldError(
        'HERALD_ERR_TOPIC_INVALID',
        `topics: ${JSON.stringify(topic.slice(0, 140))} is not a valid topic name`,
      )
    }
    if (!isTopicGranted(topic, principal.topicGrants)) {
      throw new HeraldError('HERALD_ERR_TOPIC_FORBIDDEN', `topics: the token does not grant ${JSON.stringify(topic)}`)
    }
    const channel = topicChannel(topic)
    // A resume token names channels by a 32-bit hash, and a token that names one twice is
    // malformed: two topics with one tag would get tokens this gateway then refuses, so the
    // stream could never resume. By chance that is about 1 in 10^7 streams of 32 topics, but
    // names can be chosen to collide; refusing up front says why, where resets would not.
    const twin = channels.find((other) => other.tag === channel.tag)
    if (twin !== undefined) {
      throw new HeraldError(
        'HERALD_ERR_TOPIC_INVALID',
        `topics: ${JSON.stringify(twin.name)} and ${JSON.stringify(topic)} share the resume tag ${channel.tag} and cannot be on one stream; subscribe to one of them on another`,
      )
    }
    channels.push(channel)
  }
  return channels
}

/**
 * `Last-Event-ID` wins over `lastEventId`; an empty value means a fresh start. Of repeated
 * headers, and of repeated `lastEventId` parameters, the first non-empty one counts, as for
 * `access_token`: an empty one ahead of it must not turn a resume into a fresh start that skips
 * what was missed.
 */
export function requestedPosition(headers: readonly string[], query: readonly string[]): RequestedPosition {
  const token = headers.find((value) => value !== '') ?? query.find((value) => value !== '')
  if (token === undefined) return { kind: 'fresh' }
  const positions = decodeResumeToken(token)
  return positions === undefined ? { kind: 'malformed' } : { kind: 'positions', positions }
}

/** The query parameters the stream takes, by their names with case and punctuation dropped. */
const STREAM_PARAMETERS = new Map([
  ['topics', 'topics'],
  ['topic', 'topics'],
  ['lasteventid', 'lastEventId'],
  ['accesstoken', TOKEN_QUERY_PARAMETER],
])

/**
 * A 400 for a parameter that is a misspelling of one the stream takes (`topic=`, `Topics=`,
 * `topics[]=`, `last_event_id=`, `accessToken=`), which would otherwise be ignored: the stream
 * would open without those topics, or start afresh instead of resuming, and nothing would say
 * why. Any other parameter (a cache-buster, a library's own) is left alone.
 */
export function misnamedParameter(names: Iterable<string>): HeraldError | undefined {
  for (const name of names) {
    const meant = STREAM_PARAMETERS.get(name.toLowerCase().replace(/[^a-z]/g, ''))
    if (meant !== undefined && meant !== name) {
      return new HeraldError(
        'HERALD_ERR_BAD_REQUEST',
        `the query parameter ${JSON.stringify(name.slice(0, 40))} is not one the stream takes: send ${meant}=${meant === 'topics' ? ' (comma-separated)' : ''}`,
      )
    }
  }
  return undefined
}
