/**
 * The box stream straight on a `node:net` socket, without the generic duplex plumbing: each
 * 'data' chunk is opened synchronously into one plaintext buffer, and the application's reads
 * are served from a small queue. A class with its methods on the prototype, so that an idle
 * connection holds little more than the socket, the two codecs and four listeners.
 *
 * Closing follows the box stream: our goodbye is the half-close, and TCP's FIN goes out only
 * once both directions are done, because Scuttlebutt's reference peers, which cannot be half
 * open, answer a FIN by ending their side too and cut what they were still sending (shs1.md,
 * "Known behaviours of the reference packages").
 */
import type { Socket } from 'node:net'
import { BoxStreamDecoder } from '../boxstream/decoder.ts'
import { BoxStreamEncoder } from '../boxstream/encoder.ts'
import { ConnectionError, ShsError } from '../errors.ts'
import { type SessionKeys, wipeSession } from '../handshake/session.ts'
import { toBytes } from '../stream/reader.ts'
import type { SecureStream } from '../stream/types.ts'
import { discard, drained, flushed } from './socket-writes.ts'

/** Plaintext we hold for a slow reader before we stop reading the socket (TCP then pushes back). */
const READ_QUEUE_HIGH_WATER_MARK = 1024 * 1024

interface Waiter {
  resolve: (result: IteratorResult<Uint8Array>) => void
  reject: (error: Error) => void
}

const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true }

/** Sealed size of a 64 KiB write, the size Node's streams and sockets usually deal in. */
const POOLED_BUFFER_BYTES = BoxStreamEncoder.sealedLength(64 * 1024)
/** Buffers kept for reuse by one sink: enough for the writes in flight before 'drain'. */
const MAX_SPARE_BUFFERS = 4

export function createSocketSecureStream (socket: Socket, session: SessionKeys): SecureStream {
  return new SocketSecureStream(socket, session)
}

class SocketSecureStream implements SecureStream, AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  readonly remotePublicKey: Uint8Array
  readonly #socket: Socket
  readonly #encoder: BoxStreamEncoder
  readonly #decoder: BoxStreamDecoder
  readonly #queue: Uint8Array[] = []
  #queuedBytes = 0
  #waiter: Waiter | undefined
  #failure: Error | undefined
  #reading = true
  #writing = true
  #sinkCalled = false

  readonly #onData = (chunk: Buffer): void => { this.#receive(chunk) }
  readonly #onEnd = (): void => {
    try {
      this.#decoder.finish()
      this.#goodbyeReceived()
    } catch (err) {
      this.#tearDown(err as Error)
    }
  }

  readonly #onClose = (): void => {
    if (this.#reading) this.#tearDown(new ConnectionError('the connection closed before the peer\'s goodbye: the peer crashed or the network failed'))
  }

  readonly #onError = (err: NodeJS.ErrnoException): void => {
    this.#tearDown(new ConnectionError(`the connection broke (${err.code ?? err.message}): the peer crashed or the network failed`, { cause: err }))
  }

  constructor (socket: Socket, session: SessionKeys) {
    this.#socket = socket
    this.remotePublicKey = session.remotePublicKey
    this.#encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
    this.#decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
    wipeSession(session)
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.once('close', this.#onClose)
    socket.on('error', this.#onError)
    // The peer may have hung up before we got here (while a slow authorize decided, say): its
    // 'end' or 'close' has fired already and will not fire again, and a half-open socket would
    // otherwise wait forever, with the source never settling.
    if (socket.destroyed) this.#onClose()
    else if (socket.readableEnded) this.#onEnd()
    // The handshake read in paused mode; 'data' alone does not restart the flow.
    else socket.resume()
  }

  /** Authenticated plaintext from the peer; the stream is its own single-use iterator. */
  get source (): AsyncIterable<Uint8Array> {
    return this
  }

  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
    return this
  }

  next (): Promise<IteratorResult<Uint8Array>> {
    return new Promise((resolve, reject) => {
      if (this.#waiter !== undefined) {
        reject(new ShsError('ERR_SHS_INVALID_STATE', 'the secure stream\'s source is already being read: read it from one place'))
        return
      }
      this.#waiter = { resolve, reject }
      this.#settle()
    })
  }

  /** The reader gave up early: the connection cannot be read any more, so let it go. */
  async return (): Promise<IteratorResult<Uint8Array>> {
    if (this.#reading) this.#tearDown(new ShsError('ERR_BOX_STREAM_CLOSED', 'the application stopped reading the secure stream'))
    return DONE
  }

  // Fields, not methods: it-pipe code passes `stream.sink` around on its own.
  readonly sink = async (plaintext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> => {
    if (this.#sinkCalled) throw new ShsError('ERR_SHS_INVALID_STATE', 'sink() was already called on this secure stream: pipe one source into it')
    this.#sinkCalled = true
    const socket = this.#socket
    // Sealed batches go into buffers that are used again once the socket has written them: a
    // long stream of writes costs a few buffers, not an allocation (and its GC) per batch.
    const spare: Uint8Array[] = []
    const release = (buffer: Uint8Array) => (err?: Error | null): void => {
      if (err == null && spare.length < MAX_SPARE_BUFFERS) spare.push(buffer)
    }
    try {
      for await (const chunk of plaintext) {
        if (this.#failure !== undefined) throw this.#failure
        const bytes = toBytes(chunk)
        const buffer = BoxStreamEncoder.sealedLength(bytes.byteLength) <= POOLED_BUFFER_BYTES
          ? spare.pop() ?? Buffer.allocUnsafe(POOLED_BUFFER_BYTES)
          : undefined
        const sealed = this.#encoder.encode(bytes, buffer)
        if (sealed.byteLength === 0) {
          if (buffer !== undefined) spare.push(buffer)
          continue
        }
        const written = buffer === undefined ? socket.write(sealed) : socket.write(sealed, release(buffer))
        if (!written) await drained(socket)
      }
      if (this.#failure !== undefined) throw this.#failure
      // shs1.md, "Box-stream": goodbye marks a clean end of what we send.
      await flushed(socket, this.#encoder.goodbye())
    } catch (err) {
      this.#tearDown(err as Error)
      throw err
    }
    this.#writing = false
    this.#endWhenIdle()
  }

  readonly abort = (reason?: Error): void => {
    this.#tearDown(reason ?? new ShsError('ERR_BOX_STREAM_CLOSED', 'the secure stream was aborted'))
  }

  #receive (chunk: Buffer): void {
    let plaintexts: Uint8Array[]
    try {
      // The socket hands each chunk over for good: open it in place.
      plaintexts = this.#decoder.push(chunk, { reuseInput: true })
    } catch (err) {
      this.#tearDown(err as Error)
      return
    }
    for (const plaintext of plaintexts) {
      this.#queue.push(plaintext)
      this.#queuedBytes += plaintext.byteLength
    }
    const decoder = this.#decoder
    if (decoder.error !== undefined) this.#tearDown(decoder.error)
    else if (decoder.ended) this.#goodbyeReceived()
    else if (this.#queuedBytes >= READ_QUEUE_HIGH_WATER_MARK) this.#socket.pause()
    this.#settle()
  }

  /** Hands the waiting reader its next chunk, the end, or the failure, if there is one yet. */
  #settle (): void {
    const waiter = this.#waiter
    if (waiter === undefined) return
    const chunk = this.#queue.shift()
    if (chunk !== undefined) {
      this.#queuedBytes -= chunk.byteLength
      if (this.#queuedBytes < READ_QUEUE_HIGH_WATER_MARK && this.#reading && this.#socket.isPaused()) this.#socket.resume()
      this.#waiter = undefined
      waiter.resolve({ value: chunk, done: false })
    } else if (this.#failure !== undefined) {
      this.#waiter = undefined
      waiter.reject(this.#failure)
    } else if (!this.#reading) {
      this.#waiter = undefined
      waiter.resolve(DONE)
    }
  }

  /** Nothing more will be read; wakes a waiting reader with the end or the failure. */
  #finishReading (): void {
    if (!this.#reading) return
    this.#reading = false
    this.#socket.off('data', this.#onData)
    this.#socket.off('end', this.#onEnd)
    this.#decoder.destroy()
    this.#settle()
  }

  /** The peer said goodbye: drain to its FIN so the socket can close by itself. */
  #goodbyeReceived (): void {
    this.#finishReading()
    this.#socket.on('data', discard)
    this.#socket.resume()
    this.#endWhenIdle()
  }

  /** Tampering, truncation, a broken socket or an abort: the connection is over, both ways. */
  #tearDown (error: Error): void {
    this.#failure ??= error
    this.#encoder.destroy()
    this.#socket.destroy()
    this.#finishReading()
  }

  #endWhenIdle (): void {
    if (!this.#reading && !this.#writing && !this.#socket.destroyed) this.#socket.end()
  }
}
