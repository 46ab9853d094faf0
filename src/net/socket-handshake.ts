/**
 * The handshake's transport over a `node:net` socket. Reads use the socket's own buffer
 * (`read(n)` hands out exactly n bytes or nothing), so whatever follows the last handshake
 * message stays queued in the socket for the box stream, and a peer that sends early cannot make
 * us buffer more than the socket's high-water mark.
 *
 * A message already in the socket's buffer is returned at once, without a promise; waiting uses
 * one set of listeners for the whole handshake, added at the first wait and removed by `finish`
 * or `abort` (docs/PERFORMANCE.md, "Handshakes without a promise per step").
 */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'
import { ChunkQueue } from '../driver/chunks.ts'
import type { HandshakeTransport } from '../driver/handshake.ts'

type Message = Uint8Array | undefined

/** `#take`'s answer when the message has not fully arrived yet. */
const NOT_YET = null

interface PendingRead {
  readonly length: number
  readonly resolve: (message: Message) => void
  readonly reject: (err: Error) => void
}

export class SocketHandshakeTransport implements HandshakeTransport {
  readonly #socket: Socket
  /** The part of the current message that has arrived so far (never more than the message). */
  #parts: ChunkQueue | undefined
  #pending: PendingRead | undefined
  #listening = false

  readonly #onReadable = (): void => {
    const pending = this.#pending
    if (pending === undefined) return
    const message = this.#take(pending.length)
    if (message === NOT_YET) return
    this.#pending = undefined
    pending.resolve(message)
  }

  readonly #onError = (err: NodeJS.ErrnoException): void => {
    const pending = this.#pending
    if (pending === undefined) return
    this.#pending = undefined
    pending.reject(new ConnectionError(`the connection broke during the handshake (${err.code ?? err.message})`, { cause: err }))
  }

  constructor (socket: Socket) {
    this.#socket = socket
  }

  read (length: number): Message | Promise<Message> {
    const message = this.#take(length)
    if (message !== NOT_YET) return message
    if (!this.#listening) this.#listen(true)
    return new Promise((resolve, reject) => { this.#pending = { length, resolve, reject } })
  }

  write (bytes: Uint8Array): void {
    this.#socket.write(bytes)
  }

  finish (): void {
    if (this.#listening) this.#listen(false)
  }

  abort (): void {
    this.finish()
    // A read still waiting lost its race with the deadline already; settle it all the same.
    const pending = this.#pending
    this.#pending = undefined
    pending?.resolve(undefined)
    this.#socket.destroy()
  }

  /** Exactly `length` bytes, undefined if the peer hung up first, or NOT_YET. */
  #take (length: number): Message | typeof NOT_YET {
    const socket = this.#socket
    const parts = this.#parts
    const wanted = length - (parts?.length ?? 0)
    const bytes = socket.read(wanted) as Buffer | null
    if (bytes !== null && bytes.byteLength === wanted) {
      if (parts === undefined || parts.length === 0) return bytes
      parts.push(bytes)
      return parts.take(length)
    }
    // Fewer bytes than asked for come back only at the end of the stream: the peer hung up.
    if (bytes !== null || socket.readableEnded || socket.destroyed) return undefined
    if (socket.readableLength > 0) {
      // Take the partial message out of the socket before waiting: a 'readable' listener
      // while unread bytes sit in the socket fires again at once, forever, a spin that starves
      // every timer (the handshake timeout included) when a peer sends half a message.
      (this.#parts ??= new ChunkQueue()).push(socket.read(socket.readableLength) as Buffer)
    }
    return NOT_YET
  }

  #listen (on: boolean): void {
    const socket = this.#socket
    this.#listening = on
    // 'end' and 'close' wake a waiting read too: it then sees the peer hung up. The 'readable'
    // listener must be gone before the box stream reads with 'data' (it would keep the socket paused).
    if (on) {
      socket.on('readable', this.#onReadable).on('end', this.#onReadable).on('close', this.#onReadable).on('error', this.#onError)
    } else {
      socket.off('readable', this.#onReadable).off('end', this.#onReadable).off('close', this.#onReadable).off('error', this.#onError)
    }
  }
}
