/**
 * Raw sockets for the hostile side: a peer that records every byte it is sent, a raw server, a
 * relay that eavesdrops or flips a bit in transit, and a plain duplex over a socket.
 */
import { once } from 'node:events'
import net from 'node:net'
import type { ByteDuplex } from '../../../src/index.ts'
import { concat } from '../bytes.ts'
import { HOST } from './wire.ts'

/** How long a test waits for a peer to hang up before calling it stuck. */
const CLOSE_LIMIT_MS = 5000

/**
 * A raw TCP socket in flowing mode that keeps everything the other side sends, so a test can
 * read exact messages and then check that not one byte more arrived.
 */
export class RawPeer {
  readonly socket: net.Socket
  readonly closed: Promise<void>
  #unread: Uint8Array = new Uint8Array(0)
  #received = 0
  #ended = false
  #wake: () => void = () => {}

  constructor (socket: net.Socket) {
    this.socket = socket
    // The tests judge a peer by what arrived and when the socket closed; a reset (ECONNRESET,
    // EPIPE) from a side that refused us is one of the expected outcomes, not a test failure.
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      this.#received += chunk.byteLength
      this.#unread = concat([this.#unread, chunk])
      this.#wake()
    })
    socket.on('end', () => { this.#ended = true; this.#wake() })
    this.closed = new Promise((resolve) => socket.once('close', () => { this.#ended = true; this.#wake(); resolve() }))
  }

  /**
   * Not half-open: the other side's FIN closes the connection, so `closed` means "it hung up".
   * Our own `socket.end()` still leaves us reading until then.
   */
  static async connect (port: number): Promise<RawPeer> {
    const socket = net.connect({ port, host: HOST })
    const peer = new RawPeer(socket)
    await Promise.race([once(socket, 'connect'), peer.closed.then(() => { throw new Error(`could not connect to port ${port}`) })])
    return peer
  }

  /** Every byte the other side has sent so far. */
  get bytesReceived (): number {
    return this.#received
  }

  /** Exactly `length` bytes, or undefined if the other side ended first. */
  async read (length: number): Promise<Uint8Array | undefined> {
    while (this.#unread.byteLength < length) {
      if (this.#ended) return undefined
      await new Promise<void>((resolve) => { this.#wake = resolve })
    }
    const message = this.#unread.subarray(0, length)
    this.#unread = this.#unread.subarray(length)
    return message
  }

  write (bytes: Uint8Array): void {
    this.socket.write(bytes)
  }

  /** Resolves once the connection is fully closed; throws if that takes longer than `limitMs`. */
  async waitClosed (limitMs = CLOSE_LIMIT_MS): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const limit = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`the other side did not close the connection within ${limitMs} ms`)) }, limitMs)
    })
    try {
      await Promise.race([this.closed, limit])
    } finally {
      clearTimeout(timer)
    }
  }

  destroy (): void {
    this.socket.destroy()
  }
}

/** `hmac_K(pk) ‖ pk`, messages 1 and 2. */
export interface RawServer {
  port: number
  readonly peers: RawPeer[]
  /** One promise per accepted connection: how its handler ended. */
  readonly handled: Array<Promise<void>>
  close: () => Promise<void>
}

/**
 * A TCP server whose every connection is handled by `handle` over a RawPeer. Not half-open: the
 * peer's FIN closes the connection, so `closed` means "the other side hung up".
 */
export async function rawServer (handle: (peer: RawPeer) => Promise<void>): Promise<RawServer> {
  const peers: RawPeer[] = []
  const handled: Array<Promise<void>> = []
  const server = net.createServer((socket) => {
    const peer = new RawPeer(socket)
    peers.push(peer)
    const done = handle(peer)
    // Awaited by the test that cares; until then a failure must not be an unhandled rejection.
    done.catch(() => {})
    handled.push(done)
  })
  return { ...await listenOnLoopback(server, () => { for (const peer of peers) peer.destroy() }), peers, handled }
}

export interface Relay {
  port: number
  /** Bytes seen so far in each direction. */
  readonly counts: { toServer: number, toClient: number }
  /** Everything relayed in each direction (as sent on, after any tampering). */
  readonly captured: { toServer: Uint8Array[], toClient: Uint8Array[] }
  close: () => Promise<void>
}

/** No tampering: the relay is a pure eavesdropper. */
export const NO_TAMPERING = { direction: 'toServer', offset: -1, mask: 0 } as const

/**
 * A TCP relay in front of `targetPort` that records everything and XORs `mask` into the byte at
 * `offset` of one direction: an eavesdropper, or a man in the middle flipping one bit.
 */
export async function tamperingRelay (targetPort: number, tamper: { direction: 'toServer' | 'toClient', offset: number, mask: number }): Promise<Relay> {
  const sockets = new Set<net.Socket>()
  const counts = { toServer: 0, toClient: 0 }
  const captured: Relay['captured'] = { toServer: [], toClient: [] }
  const forward = (from: net.Socket, to: net.Socket, direction: 'toServer' | 'toClient'): void => {
    from.on('data', (chunk: Buffer) => {
      const start = counts[direction]
      counts[direction] += chunk.byteLength
      const at = tamper.offset - start
      if (direction === tamper.direction && at >= 0 && at < chunk.byteLength) chunk[at] = (chunk[at] as number) ^ tamper.mask
      captured[direction].push(new Uint8Array(chunk))
      to.write(chunk)
    })
    from.on('end', () => to.end())
    from.on('close', () => to.destroy())
  }
  const server = net.createServer({ allowHalfOpen: true }, (inbound) => {
    const outbound = net.connect({ port: targetPort, host: HOST, allowHalfOpen: true })
    for (const socket of [inbound, outbound]) {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      // A reset on one leg is passed on by destroying the other leg ('close' above).
      socket.on('error', () => {})
    }
    forward(inbound, outbound, 'toServer')
    forward(outbound, inbound, 'toClient')
  })
  return { ...await listenOnLoopback(server, () => { for (const socket of sockets) socket.destroy() }), counts, captured }
}

/** Starts `server` on a free loopback port; `close` drops its connections (`dropAll`) and stops it. */
async function listenOnLoopback (server: net.Server, dropAll: () => void): Promise<{ port: number, close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      dropAll()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

export interface Drained {
  delivered: Uint8Array
  error: unknown
}

/** Reads a plaintext source to its end: what it delivered, and the error it ended with (if any). */
export async function drain (source: AsyncIterable<Uint8Array>): Promise<Drained> {
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of source) chunks.push(chunk)
  } catch (error) {
    return { delivered: concat(chunks), error }
  }
  return { delivered: concat(chunks), error: undefined }
}

/**
 * A plain it-pipe duplex over a socket, written here rather than borrowed from src/net, so the
 * stream adapters can be driven over real TCP with options `listen` does not take (a signal).
 */
export function socketAsDuplex (socket: net.Socket): ByteDuplex {
  // Failures reach the handshake through the source; an unhandled 'error' would crash mocha.
  socket.on('error', () => {})
  return {
    source: socket,
    sink: async (source: AsyncIterable<Uint8Array>) => {
      for await (const chunk of source) {
        if (!socket.write(chunk)) await once(socket, 'drain')
      }
    },
    abort: () => { socket.destroy() }
  }
}
