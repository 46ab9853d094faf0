/**
 * The handshake's transport over a `node:net` socket. Reads use the socket's own buffer
 * (`read(n)` hands out exactly n bytes or nothing), so whatever follows the last handshake
 * message stays queued in the socket for the box stream, and a peer that sends early cannot make
 * us buffer more than the socket's high-water mark.
 */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'
import { ChunkQueue } from '../stream/chunks.ts'
import type { HandshakeTransport } from '../stream/handshake.ts'

export class SocketHandshakeTransport implements HandshakeTransport {
  readonly #socket: Socket

  constructor (socket: Socket) {
    this.#socket = socket
  }

  async read (length: number): Promise<Uint8Array | undefined> {
    const socket = this.#socket
    // The part of this message that has arrived so far (never more than the message).
    const parts = new ChunkQueue()
    for (;;) {
      const wanted = length - parts.length
      const bytes = socket.read(wanted) as Buffer | null
      if (bytes !== null && bytes.byteLength === wanted) {
        parts.push(bytes)
        return parts.take(length)
      }
      // Fewer bytes than asked for come back only at the end of the stream: the peer hung up.
      if (bytes !== null || socket.readableEnded || socket.destroyed) return undefined
      if (socket.readableLength > 0) {
        // Take the partial message out of the socket before waiting: a 'readable' listener
        // added while unread bytes sit in the socket fires again at once, forever, a spin that
        // starves every timer (the handshake timeout included) when a peer sends half a message.
        parts.push(socket.read(socket.readableLength) as Buffer)
      }
      await this.#readable()
    }
  }

  write (bytes: Uint8Array): void {
    this.#socket.write(bytes)
  }

  abort (): void {
    this.#socket.destroy()
  }

  /** Resolves when more bytes (or the end) may be read; rejects on a socket error. */
  #readable (): Promise<void> {
    const socket = this.#socket
    return new Promise((resolve, reject) => {
      const onReadable = (): void => { cleanup(); resolve() }
      const onError = (err: NodeJS.ErrnoException): void => {
        cleanup()
        reject(new ConnectionError(`the connection broke during the handshake (${err.code ?? err.message})`, { cause: err }))
      }
      const cleanup = (): void => {
        socket.off('readable', onReadable)
        socket.off('end', onReadable)
        socket.off('close', onReadable)
        socket.off('error', onError)
      }
      socket.on('readable', onReadable)
      socket.on('end', onReadable)
      socket.on('close', onReadable)
      socket.on('error', onError)
    })
  }
}
