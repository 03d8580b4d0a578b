import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { shareAcrossTabs } from './tab-share.js'
import { FakeLockManager } from './test/fake-locks.js'

describe('shareAcrossTabs', () => {
  beforeEach(() => {
    vi.stubGlobal('navigator', { locks: new FakeLockManager() })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('ignores a post after close: the leading connection reports its end after the channel closed', async () => {
    let leading = false
    const share = shareAcrossTabs<string>('herald:test-close', {
      lead: () => {
        leading = true
        return () => {}
      },
      receive: () => {},
    })
    await vi.waitFor(() => expect(leading).toBe(true))
    share.close()
    expect(() => share.post('closed')).not.toThrow()
  })
})
