import { topicChannel, userChannel } from '@herald/protocol'
import { describe, expect, it } from 'vitest'
import type { HeraldError } from '../errors/herald-error.js'
import { channelsFor, misnamedParameter, requestedPosition } from './subscription-request.js'

const principal = { userId: 'alice', topicGrants: ['news', 'org/1/*'], expiresAtMs: 0 }

function codeOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    return (error as HeraldError).code
  }
  return 'none'
}

describe('channelsFor', () => {
  it('always includes the user channel, then granted topics once each', () => {
    expect(channelsFor(principal, 'news,org/1/a,news', 8).map((c) => c.key)).toEqual([
      userChannel('alice').key,
      topicChannel('news').key,
      topicChannel('org/1/a').key,
    ])
    expect(channelsFor(principal, undefined, 8)).toHaveLength(1)
    expect(channelsFor(principal, '', 8)).toHaveLength(1)
    // The limit counts distinct topics, as the README says.
    expect(channelsFor(principal, 'news,news', 1)).toHaveLength(2)
  })

  it('names the topic limit in words that fit it', () => {
    const messageOf = (maxTopics: number) => {
      try {
        channelsFor(principal, 'news,org/1/a,org/1/b', maxTopics)
      } catch (error) {
        return (error as HeraldError).message
      }
    }
    expect(messageOf(1)).toBe('topics: at most 1 topic per connection')
    expect(messageOf(2)).toBe('topics: at most 2 topics per connection')
  })

  it('refuses topics that are not granted with 403 and invalid ones with 400', () => {
    expect(codeOf(() => channelsFor(principal, 'secret', 8))).toBe('HERALD_ERR_TOPIC_FORBIDDEN')
    expect(codeOf(() => channelsFor(principal, 'org/2/a', 8))).toBe('HERALD_ERR_TOPIC_FORBIDDEN')
    expect(codeOf(() => channelsFor(principal, 'news,,x', 8))).toBe('HERALD_ERR_TOPIC_INVALID')
    expect(codeOf(() => channelsFor(principal, 'n{e}ws', 8))).toBe('HERALD_ERR_TOPIC_INVALID')
    expect(codeOf(() => channelsFor(principal, 'news,org/1/a', 1))).toBe('HERALD_ERR_TOPIC_INVALID')
  })

  it('refuses two topics whose resume tags collide, naming both, since their tokens could never resume', () => {
    // FNV-1a maps both names to 6d463a9a.
    const grants = { ...principal, topicGrants: ['c/*'] }
    expect(topicChannel('c/36wu').tag).toBe(topicChannel('c/ewfa').tag)
    expect(() => channelsFor(grants, 'c/36wu,c/ewfa', 8)).toThrow(
      /"c\/36wu" and "c\/ewfa" share the resume tag t6d463a9a/,
    )
    expect(codeOf(() => channelsFor(grants, 'c/36wu,c/ewfa', 8))).toBe('HERALD_ERR_TOPIC_INVALID')
    expect(channelsFor(grants, 'c/36wu', 8)).toHaveLength(2)
  })
})

describe('requestedPosition', () => {
  it('prefers the header, treats empty as fresh and garbage as malformed', () => {
    expect(requestedPosition([], [])).toEqual({ kind: 'fresh' })
    expect(requestedPosition([''], [''])).toEqual({ kind: 'fresh' })
    expect(requestedPosition(['garbage'], [])).toEqual({ kind: 'malformed' })
    const fromHeader = requestedPosition(['u00000001:5-0'], ['garbage'])
    expect(fromHeader.kind === 'positions' && [...fromHeader.positions.keys()]).toEqual(['u00000001'])
    expect(requestedPosition([], ['u00000001:5-0']).kind).toBe('positions')
  })

  it('takes the first non-empty lastEventId of several, so an empty one ahead cannot skip what was missed', () => {
    const resumed = requestedPosition([], ['', 'u00000001:5-0', 'u00000001:9-0'])
    expect(resumed.kind === 'positions' && resumed.positions.get('u00000001')).toEqual({ ms: 5, seq: 0 })
  })

  it('takes the first non-empty Last-Event-ID header of several, by the same rule', () => {
    const resumed = requestedPosition(['', 'u00000001:5-0', 'u00000001:9-0'], ['u00000001:7-0'])
    expect(resumed.kind === 'positions' && resumed.positions.get('u00000001')).toEqual({ ms: 5, seq: 0 })
  })
})

describe('misnamedParameter', () => {
  it('refuses a misspelling of a parameter the stream takes, naming the one to send', () => {
    for (const [name, meant] of [
      ['topic', 'topics'],
      ['Topics', 'topics'],
      ['topics[]', 'topics'],
      ['last_event_id', 'lastEventId'],
      ['lasteventid', 'lastEventId'],
      ['Last-Event-ID', 'lastEventId'],
      ['accessToken', 'access_token'],
      ['access-token', 'access_token'],
    ]) {
      const refusal = misnamedParameter(['v', name!])
      expect(refusal?.code, name).toBe('HERALD_ERR_BAD_REQUEST')
      expect(refusal?.message, name).toContain(`send ${meant}=`)
    }
  })

  it('leaves the right names, and parameters it does not know, alone', () => {
    expect(misnamedParameter(['topics', 'lastEventId', 'access_token', '_', 'v', 'cacheBust', 'token'])).toBeUndefined()
  })
})
