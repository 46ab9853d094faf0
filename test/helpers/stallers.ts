/**
 * Stallers for hostile-load tests: raw TCP sockets from a chosen loopback address (Linux routes
 * all of 127.0.0.0/8 to loopback) that send a few bytes (one of a hello, by default) and wait. Every loop is bounded
 * in count: each staller reconnects at most `reconnects` times after the server drops it.
 */
import net from 'node:net'

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

/** What a staller sends before it stalls, by default: one byte of a hello. */
const ONE_BYTE = new Uint8Array([0x42])

/**
 * `count` stallers from `source` to `port`, each sending `greeting` and nothing more; the sockets
 * still open are the ones the server holds. Call `destroyAll` when done (a test hands it to its cleanups).
 */
export function stallers (port: number, source: string, count: number, reconnects: number, greeting: Uint8Array = ONE_BYTE): RawSockets {
  const sockets = new RawSockets()
  for (let i = 0; i < count; i++) {
    let attempts = 0
    const open = (): void => {
      attempts++
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: source })
      sockets.add(socket)
      socket.on('error', () => {})
      socket.once('connect', () => { socket.write(greeting) })
      socket.once('close', () => {
        sockets.delete(socket)
        if (attempts <= reconnects && !sockets.stopped) open()
      })
    }
    open()
  }
  return sockets
}

/** The attacker's loopback addresses: `count` sources from 127.0.0.2 up. */
export function attackerSources (count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`)
}

/** multistream-select 1.0 lines (a varint length, then the line; all of ours are under 128 bytes). */
export function multistreamSelect (protocol: string): Uint8Array {
  const lines = ['/multistream/1.0.0\n', `${protocol}\n`].map((line) => Buffer.from(line))
  return Buffer.concat(lines.flatMap((line) => [Buffer.from([line.byteLength]), line]))
}
