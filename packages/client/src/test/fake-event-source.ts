/**
 * An EventSource for client tests (Node 20 has none) that behaves as a native one where it
 * matters to them: it dispatches an event only to listeners of its type. Each instance is
 * recorded, with the types listened for, and the test opens it and sends events through it.
 */

export class FakeEventSource extends EventTarget {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSED = 2
  /** Every EventSource created since the last `reset`, in order. */
  static instances: FakeEventSource[] = []

  static reset(): void {
    FakeEventSource.instances = []
  }

  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSED = 2
  readonly url: string
  readyState = 0
  /** The types with a listener, EventSource's own `open` and `error` included. */
  readonly listening = new Set<string>()

  constructor(url: string | URL) {
    super()
    this.url = String(url)
    FakeEventSource.instances.push(this)
  }

  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    this.listening.add(args[0])
    super.addEventListener(...args)
  }

  /** The stream opens, and goes live as the gateway's does (`herald.ready`). */
  open(readyId: string): void {
    this.readyState = this.OPEN
    this.dispatchEvent(new Event('open'))
    this.send('herald.ready', '{"resume":"fresh","replayed":0}', readyId)
  }

  /** A server event: like a native EventSource, it reaches only the listeners of its type. */
  send(type: string, data: string, id: string): void {
    if (this.readyState === this.CLOSED) return
    this.dispatchEvent(new MessageEvent(type, { data, lastEventId: id }))
  }

  close(): void {
    this.readyState = this.CLOSED
  }
}
