/**
 * @herald/client/bell: registers `<herald-bell>` and re-exports the client,
 * so one script gives a page both.
 */

import { HeraldBellElement } from './bell/herald-bell.js'

export { type BellSource, HeraldBellElement } from './bell/herald-bell.js'
export * from './index.js'

if (typeof customElements !== 'undefined' && customElements.get('herald-bell') === undefined) {
  customElements.define('herald-bell', HeraldBellElement)
}

declare global {
  interface HTMLElementTagNameMap {
    'herald-bell': HeraldBellElement
  }
}
