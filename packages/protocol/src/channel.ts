/**
 * Channels: what a connection listens to. Every user has one, every topic has
 * one. The `key` names the channel inside Herald and in the brokers; the
 * `tag` names it inside resume tokens, short and without the user's or
 * topic's name, so tokens stay small and reveal nothing.
 */

export type ChannelKind = 'user' | 'topic'

export interface Channel {
  readonly kind: ChannelKind
  readonly name: string
  /** `u:<user>` or `t:<topic>`. */
  readonly key: string
  /** `u` or `t` followed by 8 hex digits of FNV-1a over the name. */
  readonly tag: string
}

export function userChannel(userId: string): Channel {
  return { kind: 'user', name: userId, key: userChannelKey(userId), tag: `u${fnv1a32Hex(userId)}` }
}

export function topicChannel(topic: string): Channel {
  return { kind: 'topic', name: topic, key: topicChannelKey(topic), tag: `t${fnv1a32Hex(topic)}` }
}

/** A user's channel key alone: what publishing needs, without hashing a tag it never uses. */
export function userChannelKey(userId: string): string {
  return `u:${userId}`
}

export function topicChannelKey(topic: string): string {
  return `t:${topic}`
}

/** Rebuilds a channel from its key; `undefined` for a key of no known kind. */
export function channelFromKey(key: string): Channel | undefined {
  if (key.startsWith('u:')) return userChannel(key.slice(2))
  if (key.startsWith('t:')) return topicChannel(key.slice(2))
  return undefined
}

/** 32-bit FNV-1a over UTF-16 code units: fast, stable, and good enough to tell a few channels apart. */
export function fnv1a32Hex(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, '0')
}
