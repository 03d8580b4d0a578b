import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { shareAcrossTabs, withdrawWaitingLockRequests } from './tab-share.js'
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

  it('neither leads nor keeps the lock when closed between the grant and its callback', async () => {
    // The browser grants the lock, then calls back in a later task: an abort in between is too late.
    let closedLed = 0
    const closed = shareAcrossTabs<string>('herald:test-grant', {
      lead: () => {
        closedLed++
        return () => {}
      },
      receive: () => {},
    })
    closed.close()
    let nextLed = false
    const next = shareAcrossTabs<string>('herald:test-grant', {
      lead: () => {
        nextLed = true
        return () => {}
      },
      receive: () => {},
    })
    await vi.waitFor(() => expect(nextLed).toBe(true))
    expect(closedLed).toBe(0)
    next.close()
  })
  it("withdraws the waiting requests of one page's clients, so the lock passes over that page to another", async () => {
    const [frozenPage, runningPage] = [{}, {}]
    const led: string[] = []
    const open = (tab: string, page: object) =>
      shareAcrossTabs<string>(
        'herald:test-pages',
        {
          lead: () => {
            led.push(tab)
            return () => {}
          },
          receive: () => {},
        },
        page,
      )
    const leader = open('leader', frozenPage)
    await vi.waitFor(() => expect(led).toEqual(['leader']))
    // Next in line, but on the page being frozen with the leader.
    const sameDocument = open('same page', frozenPage)
    const otherTab = open('other tab', runningPage)
    withdrawWaitingLockRequests(frozenPage)
    leader.close()
    await vi.waitFor(() => expect(led).toEqual(['leader', 'other tab']))
    sameDocument.close()
    otherTab.close()
  })
})
