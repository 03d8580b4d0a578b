/**
 * SSE framing. Pure string building, no I/O: the hub frames each message once
 * and writes the same bytes to every connection.
 *
 * Safety: no input can start a new field or a new event. Data is split on
 * CR, LF and CRLF into one `data:` line per line, which the SSE parser joins
 * back with LF; an event type with a line break is never written as a field.
 */

const LINE_BREAK = /\r\n|\r|\n/

/** A comment line: ignored by clients, keeps proxies and NATs from idling the connection out. */
export const HEARTBEAT_FRAME = ':\n\n'

/**
 * The part of an event every recipient shares: `event:` (when typed) and
 * `data:` lines, without the terminating blank line. Each connection appends
 * its own `id:` line and the terminator with {@link frameIdAndEnd}.
 */
export function frameEventBody(type: string | undefined, data: string): string {
  const head = type !== undefined && isSafeFieldValue(type) ? `event: ${type}\n` : ''
  if (data.indexOf('\n') < 0 && data.indexOf('\r') < 0) return `${head}data: ${data}\n`
  return `${head}data: ${data.split(LINE_BREAK).join('\ndata: ')}\n`
}

/** The `id:` line and the blank line that dispatches the event. */
export function frameIdAndEnd(token: string): string {
  return `id: ${token}\n\n`
}

/** A complete event. */
export function frameEvent(type: string | undefined, data: string, token: string): string {
  return frameEventBody(type, data) + frameIdAndEnd(token)
}

/** The reconnection delay hint, in whole milliseconds. */
export function frameRetry(delayMs: number): string {
  return `retry: ${Math.max(0, Math.round(delayMs))}\n`
}

/**
 * An id-only event: sets the client's last event id without dispatching
 * anything (the SSE parser skips events with no data but keeps their id).
 */
export function framePosition(token: string): string {
  return frameIdAndEnd(token)
}

function isSafeFieldValue(value: string): boolean {
  return value.indexOf('\n') < 0 && value.indexOf('\r') < 0 && value.indexOf('\0') < 0
}
