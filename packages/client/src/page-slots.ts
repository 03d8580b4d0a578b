/**
 * Which of a page's clients of one stream URL a client is, so that each keeps its own position
 * for the tab (sessionStorage). Two clients of one URL in a page (a `<herald-bell src>` beside
 * the app's own client) hear each event at different moments: the one streaming at once, the
 * other over the BroadcastChannel, a task later. Sharing one stored position, a reload between
 * the two resumed both from the first one's, and the other never had what was in flight to it
 * (3 of 338 notifications lost over 13 reloads, in a probe). A page makes its clients in the
 * same order each time it loads, so a client is known again by its place in that order: the
 * lowest slot free when it is made, freed when it closes.
 */

import { type Page, pageRecord } from './page-registry.js'

function slotsTaken(page: Page, url: string): Set<number> {
  const byUrl = pageRecord('page-slots.v1', page, () => new Map<string, Set<number>>())
  let taken = byUrl.get(url)
  if (taken === undefined) {
    taken = new Set()
    byUrl.set(url, taken)
  }
  return taken
}

/** Takes the lowest slot no open client of `url` in this page holds. */
export function takePageSlot(page: Page, url: string): number {
  const taken = slotsTaken(page, url)
  let slot = 0
  while (taken.has(slot)) slot++
  taken.add(slot)
  return slot
}

export function releasePageSlot(page: Page, url: string, slot: number): void {
  slotsTaken(page, url).delete(slot)
}

/** The scope of the tab's stored position: the first client's is the scope itself, as before slots. */
export function slotScope(scope: string, slot: number): string {
  return slot === 0 ? scope : `${scope}#${slot}`
}
