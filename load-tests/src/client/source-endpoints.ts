/**
 * The local (address, port) each connection of a load worker binds, handed out in turn over the
 * worker's own source addresses and a port range, skipping pairs its open sockets still hold.
 *
 * Why not let the kernel pick the port: after one storm, a worker's addresses hold tens of
 * thousands of TIME_WAIT sockets, and `bind(address, 0)` then searches the ephemeral range for a
 * port with no TIME_WAIT on it, under a lock, for every connect. Measured on 2026-11-22 (perf on a
 * worker in a resume storm right after another): most of the worker's time was in
 * `inet_csk_get_port`'s bucket scans, its event loop stalled for over 30 s, and the storm it
 * timed looked ten times slower than the server was. A named port binds at once: libuv sets
 * SO_REUSEADDR, so a TIME_WAIT pair can be bound again, and Linux reuses one on loopback
 * (`tcp_tw_reuse` = 2) when it connects.
 */

export interface SourceEndpoint {
  readonly address: string
  readonly port: number
}

export class SourceEndpoints {
  /** One flag per port and address: held by an open socket of this worker. */
  readonly #held: Uint8Array
  #cursor = 0

  constructor(
    readonly addresses: readonly string[],
    readonly firstPort = 32_768,
    readonly lastPort = 60_999,
  ) {
    if (addresses.length === 0) throw new Error('SourceEndpoints: give at least one address')
    if (firstPort < 1 || lastPort > 65_535 || lastPort < firstPort) throw new Error('SourceEndpoints: bad port range')
    this.#held = new Uint8Array((lastPort - firstPort + 1) * addresses.length)
  }

  /** The next pair no open socket holds; addresses alternate, so each carries an equal share. */
  take(): SourceEndpoint {
    const size = this.#held.length
    for (let tried = 0; tried < size; tried++) {
      const slot = this.#cursor
      this.#cursor = (slot + 1) % size
      if (this.#held[slot] === 1) continue
      this.#held[slot] = 1
      const addressIndex = slot % this.addresses.length
      const port = this.firstPort + Math.floor(slot / this.addresses.length)
      return { address: this.addresses[addressIndex]!, port }
    }
    throw new Error(`SourceEndpoints: all ${size} source endpoints are held`)
  }

  /** The socket bound to this pair closed. */
  release(endpoint: SourceEndpoint): void {
    const addressIndex = this.addresses.indexOf(endpoint.address)
    if (addressIndex < 0) return
    this.#held[(endpoint.port - this.firstPort) * this.addresses.length + addressIndex] = 0
  }
}
