/**
 * How a publisher call failed, for tests that assert on it: the PublishError's code and
 * message, or 'accepted' when the call went through.
 */

import { expect } from 'vitest'
import { PublishError } from '../publish-error.js'

/** `CODE: message` of the PublishError that `attempt` throws or rejects with. */
export async function refusalOf(attempt: () => unknown): Promise<string> {
  try {
    await attempt()
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(PublishError)
    return `${(error as PublishError).code}: ${(error as PublishError).message}`
  }
  return 'accepted'
}
