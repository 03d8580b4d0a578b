/**
 * The bell's shadow DOM: markup and styles. Themed from outside through CSS
 * custom properties (`--herald-bell-*`) and `::part()`; nothing leaks in or out.
 * Its own colours follow the page's `color-scheme`, which the host inherits: a page
 * that declares `dark` (or `light dark` on a dark system) gets a dark bell, any
 * other a light one, so a light-only page never gets a dark bell it did not ask for.
 */

export const BELL_STYLE = `
:host { position: relative; display: inline-block; font: inherit; color: var(--_text);
  --_text: var(--herald-bell-text, #1f2430); --_accent: var(--herald-bell-accent, #4f46e5);
  --_bg: var(--herald-bell-bg, #fff); --_line: var(--herald-bell-border, #e5e7eb);
  --_muted: var(--herald-bell-muted, #4b5563); --_hover: var(--herald-bell-hover-bg, #f3f4f6);
  --_unread: var(--herald-bell-unread-bg, #eef2ff); --_notice: var(--herald-bell-notice-bg, #fef3c7);
  --_notice-text: #92400e }
@supports (color: light-dark(#000, #fff)) {
  :host { --_text: var(--herald-bell-text, light-dark(#1f2430, #e5e7eb));
    --_accent: var(--herald-bell-accent, light-dark(#4f46e5, #a5b4fc));
    --_bg: var(--herald-bell-bg, light-dark(#fff, #1f2937)); --_line: var(--herald-bell-border, light-dark(#e5e7eb, #374151));
    --_muted: var(--herald-bell-muted, light-dark(#4b5563, #9ca3af));
    --_hover: var(--herald-bell-hover-bg, light-dark(#f3f4f6, #374151));
    --_unread: var(--herald-bell-unread-bg, light-dark(#eef2ff, #1e1b4b));
    --_notice: var(--herald-bell-notice-bg, light-dark(#fef3c7, #422006)); --_notice-text: light-dark(#92400e, #fde68a) }
}
[hidden] { display: none !important }
button { font: inherit; cursor: pointer }
:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px }
.bell { position: relative; display: grid; place-items: center; width: var(--herald-bell-size, 40px);
  height: var(--herald-bell-size, 40px); border: 1px solid var(--_line); border-radius: 50%;
  background: var(--_bg); color: inherit; padding: 0 }
.bell:hover, .bell[aria-expanded='true'] { background: var(--_hover) }
.badge { position: absolute; top: -5px; right: -5px; min-width: 18px; height: 18px; padding: 0 5px;
  border-radius: 9px; background: var(--herald-bell-badge-bg, #dc2626); color: var(--herald-bell-badge-text, #fff);
  font-size: 11px; font-weight: 700; line-height: 18px; text-align: center }
.panel { position: absolute; right: 0; top: calc(var(--herald-bell-size, 40px) + 10px); z-index: 1000;
  width: var(--herald-bell-panel-width, min(360px, calc(100vw - 24px))); max-height: 70vh; overflow: auto;
  background: var(--_bg); border: 1px solid var(--_line); border-radius: 12px;
  box-shadow: 0 12px 32px rgba(15, 23, 42, 0.16); text-align: left; translate: var(--_nudge, 0px) 0 }
.head { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 10px 14px;
  border-bottom: 1px solid var(--_line); position: sticky; top: 0; background: var(--_bg) }
h2 { margin: 0; font-size: 15px }
.link { border: 0; background: none; color: var(--_accent); font-size: 13px; padding: 2px 4px; border-radius: 4px }
.link[aria-disabled='true'] { color: var(--_muted); cursor: default }
ol { list-style: none; margin: 0; padding: 0 }
li { padding: 10px 14px; border-bottom: 1px solid var(--_line) }
li:last-child { border-bottom: 0 }
li.unread { background: var(--_unread); border-left: 3px solid var(--_accent); padding-left: 11px }
.title { font-weight: 600; display: block }
.body { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere }
time, .empty, .notice { font-size: 12px; color: var(--_muted) }
.empty { margin: 0; padding: 18px 14px; text-align: center }
.notice { margin: 0; padding: 8px 14px; background: var(--_notice); color: var(--_notice-text) }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0 }
`

const ICON =
  '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ' +
  'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">' +
  '<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg>'

export const BELL_MARKUP = `
<button class="bell" part="button" type="button" aria-expanded="false" aria-controls="panel"
  aria-label="Notifications, 0 unread">${ICON}<span class="badge" part="badge" aria-hidden="true" hidden>0</span></button>
<section id="panel" class="panel" part="panel" role="region" aria-labelledby="title" hidden>
  <div class="head">
    <h2 id="title">Notifications</h2>
    <button class="link mark-read" type="button" aria-disabled="true">Mark all read</button>
  </div>
  <p class="notice" role="status" hidden></p>
  <ol aria-label="Notifications, newest first"></ol>
  <p class="empty">No notifications yet.</p>
</section>
<div class="sr-only live" aria-live="polite"></div>
`
