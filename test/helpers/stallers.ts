/**
 * Stallers for hostile-load tests: raw TCP sockets from a chosen loopback address (Linux routes
 * all of 127.0.0.0/8 to loopback) that send a few bytes and wait (the benchmarks' stallers,
 * scripts/bench/stallers.ts). Every loop is bounded in count: each staller reconnects at most
 * `reconnects` times after the server drops it.
 */
import type net from 'node:net'
import { HELLO_BYTE, multistreamSelect, openStaller } from '../../scripts/bench/stallers.ts'

/** The attacker's open sockets. */
export class RawSockets {
  readonly #sockets = new Set<net.Socket>()
  stopped = false

  get size (): number {
    return this.#sockets.size
  }

  add (socket: net.Socket): void { this.#sockets.add(socket) }
  delete (socket: net.Socket): void { this.#sockets.delete(socket) }

  destroyAll (): void {
    this.stopped = true
    for (const socket of this.#sockets) socket.destroy()
  }
}

/**
 * `count` stallers from `source` to `port`, each sending `greeting` (default: one byte of a
 * hello) and nothing more; the sockets still open are the ones the server holds. Call
 * `destroyAll` when done (a test hands it to its cleanups).
 */
export function stallers (port: number, source: string, count: number, reconnects: number, greeting: Uint8Array = HELLO_BYTE): RawSockets {
  const sockets = new RawSockets()
  for (let i = 0; i < count; i++) {
    let attempts = 0
    const open = (): void => {
      attempts++
      sockets.add(openStaller(port, source, greeting, (socket) => {
        sockets.delete(socket)
        if (attempts <= reconnects && !sockets.stopped) open()
      }))
    }
    open()
  }
  return sockets
}

/** The attacker's loopback addresses: `count` sources from 127.0.0.2 up. */
export function attackerSources (count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`)
}

export { multistreamSelect }
