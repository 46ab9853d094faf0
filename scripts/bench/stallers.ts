/**
 * The benchmarks' stallers: sockets from 127.0.0.2 and up (all of 127/8 is loopback on Linux)
 * that send a greeting (one byte of a hello, or libp2p's protocol choice), wait, and reconnect on
 * the next turn as soon as they are dropped, up to `maxConnections` connections in all.
 */
import net from 'node:net'

export interface Attack {
  label: string
  sources: number
  perSource: number
}

export interface Stallers {
  connections: () => number
  stop: () => void
}

/** One byte of a client hello. */
export const HELLO_BYTE = new Uint8Array([0x42])

/** multistream-select 1.0's header and a protocol choice (each line a varint length, then the line; ours are under 128 bytes). */
export function multistreamSelect (protocol: string): Uint8Array {
  const lines = ['/multistream/1.0.0\n', `${protocol}\n`].map((line) => Buffer.from(line))
  return Buffer.concat(lines.flatMap((line) => [Buffer.from([line.byteLength]), line]))
}

/** One staller: connects from `source`, sends `greeting`, and waits; `onClose` hears when it was dropped. */
export function openStaller (port: number, source: string, greeting: Uint8Array, onClose: (socket: net.Socket) => void): net.Socket {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: source })
  // A staller's errors are the server dropping it: what counts is the close.
  socket.on('error', () => {})
  socket.once('connect', () => { socket.write(greeting) })
  socket.once('close', () => { onClose(socket) })
  return socket
}

export function startStallers (port: number, attack: Attack, maxConnections: number, greeting: Uint8Array = HELLO_BYTE): Stallers {
  let connections = 0
  let stopped = false
  const sockets = new Set<net.Socket>()
  const open = (source: string): void => {
    if (stopped || connections >= maxConnections) return
    connections++
    sockets.add(openStaller(port, source, greeting, (socket) => {
      sockets.delete(socket)
      // Reconnect on the next turn, so the event loop stays responsive.
      setImmediate(() => { open(source) })
    }))
  }
  for (let s = 0; s < attack.sources; s++) {
    for (let i = 0; i < attack.perSource; i++) open(`127.0.0.${s + 2}`)
  }
  return {
    connections: () => connections,
    stop: () => {
      stopped = true
      for (const socket of sockets) socket.destroy()
    }
  }
}
