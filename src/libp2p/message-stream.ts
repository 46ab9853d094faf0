/**
 * The secured connection libp2p gets back from `shs()`: a `MessageStream` whose bytes travel as a
 * box stream over the raw connection. Everything libp2p-facing (buffering, pause, backpressure
 * bookkeeping, events) is `AbstractMessageStream`'s; this class only seals what it is asked to
 * send, opens what arrives, and maps the ends of the stream:
 *
 * - `close()` flushes, then sends goodbye: a half-close, the peer's data keeps arriving. The raw
 *   connection is closed once both sides have said goodbye.
 * - The peer's goodbye ends our readable side (`remoteCloseWrite`); we may still write.
 * - A packet that fails authentication, bytes after goodbye, or a transport that ends without
 *   goodbye (truncation) abort the connection: nothing after the failure is ever delivered.
 * - libp2p's `Connection.close()` closes the muxer and then the raw connection directly, never
 *   this stream. Our goodbye is sent just before that raw close, so the peer sees a clean end,
 *   and a raw connection closed by our own node is a local close here, not a truncation.
 *
 * The rules themselves (goodbye, bytes after it, truncation, key wiping) are `BoxConnection`'s.
 */
import type {
  AbortOptions, Logger, MessageStream, StreamCloseEvent, StreamMessageEvent
} from '@libp2p/interface'
import { AbstractMessageStream, type SendResult } from '@libp2p/utils'
import { MAX_BODY_BYTES } from '../boxstream/constants.ts'
import type { PushOptions } from '../boxstream/decoder.ts'
import { BoxConnection } from '../connection/machine.ts'
import { AbortError, BoxStreamError } from '../errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { MAX_ENCODE_BATCH_BYTES } from './constants.ts'
import type { TransportEnd } from './handshake.ts'
import type { ShsMetrics } from './metrics.ts'
import { type SocketWriteQueue, type SpareOutput, kernelSocketOf } from './sealed-output.ts'

/**
 * libp2p's byte list, named through the base class so this file does not depend on whichever
 * copy of `uint8arraylist` happens to be installed beside it.
 */
type ByteList = Parameters<AbstractMessageStream['sendData']>[0]

/**
 * How a chunk the raw connection delivered is opened. The muxer hands its streams views of what
 * we deliver, never our chunks whole: a plaintext need not own exactly its buffer (the trimming
 * copy is saved; the rest is zeroed). And the chunk is ours to overwrite: a libp2p connection
 * hands each received chunk to its listeners and keeps no reference, nor reads into it again
 * (the muxers keep views of what they receive across reads; noise decrypts in place over the
 * same chunks). So the plaintext is opened over its ciphertext: no buffer to allocate per chunk,
 * and the bytes the socket has just written are still in the cache.
 */
const RECEIVE_OPTIONS: PushOptions = { reuseInput: true, exact: false }
/** The handshake's leftover bytes may be views its reader shares: opened into a buffer of their own. */
const LEFTOVER_OPTIONS: PushOptions = { exact: false }

export interface BoxMessageStreamInit {
  readonly raw: MessageStream
  readonly session: SessionKeys
  /** Box-stream bytes that arrived with the last handshake message. */
  readonly leftover: readonly Uint8Array[]
  /** The raw connection ended before the handshake code let go of it. */
  readonly transportEnd?: TransportEnd | undefined
  readonly metrics?: ShsMetrics | undefined
  /** The encrypter's spare send buffer, used when the raw connection is a `node:net` socket. */
  readonly spareOutput?: SpareOutput | undefined
  /**
   * The connection's `shs` logger, when the encrypter made one for the handshake already: a new
   * scope costs a debug instance (and a tty check) per connection.
   */
  readonly log?: Logger | undefined
}

export class BoxMessageStream extends AbstractMessageStream {
  readonly #raw: MessageStream
  readonly #connection: BoxConnection
  readonly #metrics: ShsMetrics | undefined
  /** The raw connection's `node:net` socket, when it tells us that a sent buffer is free again. */
  readonly #socket: SocketWriteQueue | undefined
  readonly #spareOutput: SpareOutput | undefined
  /** We asked the raw connection to close: its end is then expected, not a truncation. */
  #closingTransport = false

  readonly #onRawMessage = (evt: StreamMessageEvent): void => { this.#receive(evt.data, RECEIVE_OPTIONS) }
  readonly #onRawDrain = (): void => { this.safeDispatchEvent('drain') }
  readonly #onRawRemoteCloseWrite = (): void => { this.#onTransportEnd(undefined) }
  readonly #onRawClose = (evt: StreamCloseEvent): void => {
    if (evt.error !== undefined && evt.local !== true) this.onRemoteReset()
    else if (evt.error === undefined && evt.local === true) this.#onLocalClose()
    else this.#onTransportEnd(evt.error)
  }

  constructor (init: BoxMessageStreamInit) {
    const { raw, session } = init
    super({
      log: init.log ?? raw.log.newScope('shs'),
      direction: raw.direction,
      // The raw connection enforces the inactivity timeout; mirror it so callers read the real value.
      inactivityTimeout: raw.inactivityTimeout,
      maxReadBufferLength: raw.maxReadBufferLength,
      maxMessageSize: MAX_ENCODE_BATCH_BYTES
    })
    this.#raw = raw
    this.#metrics = init.metrics
    this.#spareOutput = init.spareOutput
    this.#socket = this.#spareOutput === undefined ? undefined : kernelSocketOf(raw)
    // Takes the session over: the session's own key copies are wiped.
    this.#connection = new BoxConnection(session)
    const closeRaw = raw.close.bind(raw)
    raw.close = async (options?: AbortOptions): Promise<void> => {
      this.#goodbyeBeforeRawClose()
      await closeRaw(options)
    }

    raw.addEventListener('message', this.#onRawMessage)
    raw.addEventListener('drain', this.#onRawDrain)
    raw.addEventListener('remoteCloseWrite', this.#onRawRemoteCloseWrite)
    raw.addEventListener('close', this.#onRawClose)
    this.addEventListener('close', () => { this.#release() })

    for (const chunk of init.leftover) this.#receive(chunk, LEFTOVER_OPTIONS)
    if (init.transportEnd !== undefined) this.#onTransportEnd(init.transportEnd.error)
  }

  /**
   * Seals everything queued in one pass and hands it to the raw connection as one write, into
   * the spare buffer of an earlier send when the socket proved it let go of it (see sealed-output.ts).
   */
  sendData (data: ByteList): SendResult {
    const plaintext = data.byteLength
    const socket = this.#socket
    const spares = this.#spareOutput
    const output = socket === undefined ? undefined : spares?.take(BoxConnection.sealedLength(plaintext))
    const sealed = this.#connection.send(Array.from(data), output)
    this.#metrics?.encryptedPackets.increment(Math.ceil(plaintext / MAX_BODY_BYTES))
    const canSendMore = this.#raw.send(sealed)
    if (socket !== undefined && this.#raw.writeBufferLength === 0 && socket.writableLength === 0) {
      spares?.giveBack(output !== undefined && sealed.buffer === output.buffer ? output : sealed)
    }
    return { sentBytes: plaintext, canSendMore }
  }

  sendReset (err: Error): void {
    this.#release()
    this.#raw.abort(err)
  }

  sendPause (): void {
    this.#raw.pause()
  }

  sendResume (): void {
    this.#raw.resume()
  }

  /**
   * Half-closes: flushes what is queued, then sends goodbye. The peer may keep sending until its
   * own goodbye, which closes the raw connection (see `#receive`).
   */
  async close (options?: AbortOptions): Promise<void> {
    if (this.writeStatus !== 'writable') return
    this.writeStatus = 'closing'
    if (this.status === 'open') this.status = 'closing'
    if (this.sendingData || this.writeBuffer.byteLength > 0) {
      // Goodbye must follow the last packet, so wait until the queue was sealed and sent.
      await waitForIdle(this, options?.signal)
    }
    if (this.writeStatus !== 'closing') return // aborted while waiting
    this.#raw.send(this.#connection.goodbye())
    this.writeStatus = 'closed'
    this.log.trace('sent box-stream goodbye')
    if (this.remoteWriteStatus === 'closed') await this.#closeTransport(options)
  }

  /** Opens every complete packet in `data` synchronously and delivers the plaintext as one message. */
  #receive (data: StreamMessageEvent['data'], options: PushOptions): void {
    if (this.status === 'aborted' || this.status === 'reset' || this.status === 'closed') return
    const connection = this.#connection
    const packetsBefore = connection.packetsReceived
    let queued = false
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      for (const plaintext of connection.receive(chunk, options)) {
        // As onData() would, but for the whole batch before one dispatch.
        if (this.readStatus === 'closing' || this.readStatus === 'closed') continue
        this.readBuffer.append(plaintext)
        queued = true
      }
      if (connection.failure !== undefined) break
    }
    const opened = connection.packetsReceived - packetsBefore
    if (opened > 0) this.#metrics?.decryptedPackets.increment(opened)
    const failure = connection.failure
    if (failure instanceof BoxStreamError) this.#metrics?.decryptErrors.increment()
    // Authentic plaintext from before a bad packet is still handed over; nothing after it is.
    if (queued) this.dispatchReadBuffer()
    if (failure !== undefined) this.abort(failure)
    else if (connection.receivedGoodbye() && this.remoteWriteStatus !== 'closed') this.#onGoodbye()
  }

  #onGoodbye (): void {
    this.log.trace('received box-stream goodbye')
    const bothSaidGoodbye = this.writeStatus === 'closed'
    this.onRemoteCloseWrite()
    if (bothSaidGoodbye) {
      this.#closeTransport().catch((err: unknown) => {
        this.log.error('closing the raw connection after both goodbyes failed - %e', err)
      })
    }
  }

  /** The raw connection will deliver nothing more. Without the peer's goodbye that is a truncation. */
  #onTransportEnd (error: Error | undefined): void {
    if (error !== undefined) {
      this.abort(error)
      return
    }
    if (this.#connection.receivedGoodbye() || this.#closingTransport) {
      this.onTransportClosed()
      return
    }
    if (this.status === 'aborted' || this.status === 'reset' || this.status === 'closed') return
    this.#connection.receiveEnd()
    this.onTransportClosed(this.#connection.failure)
  }

  /**
   * Our own node closed the raw connection (libp2p's `Connection.close()`, as in `hangUp()` and
   * `stop()`): a graceful local close, not a truncation, and nothing to log as an error.
   */
  #onLocalClose (): void {
    this.#closingTransport = true
    this.#connection.abort(new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the connection was closed by this node'))
    this.onTransportClosed()
  }

  /** libp2p is about to close the raw connection: say goodbye first if nothing is left to send. */
  #goodbyeBeforeRawClose (): void {
    this.#closingTransport = true
    if (this.writeStatus !== 'writable' || this.#connection.writing !== 'open') return
    if (this.sendingData || this.writeBuffer.byteLength > 0) return
    try {
      this.#raw.send(this.#connection.goodbye())
      this.writeStatus = 'closed'
      this.log.trace('sent box-stream goodbye before the raw connection closes')
    } catch (err) {
      // The raw connection refuses writes already: the peer will see the close without goodbye.
      this.log('could not send goodbye before closing - %e', err)
    }
  }

  async #closeTransport (options?: AbortOptions): Promise<void> {
    this.#closingTransport = true
    try {
      await this.#raw.close(options)
    } catch (err) {
      this.#raw.abort(err as Error)
      throw err
    } finally {
      this.onTransportClosed()
    }
  }

  /** Wipes the session keys and stops listening to the raw connection. */
  #release (): void {
    if (this.#connection.failure === undefined && !this.#connection.finished) {
      this.#connection.abort(new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the libp2p stream was closed'))
    }
    const raw = this.#raw
    raw.removeEventListener('message', this.#onRawMessage)
    raw.removeEventListener('drain', this.#onRawDrain)
    raw.removeEventListener('remoteCloseWrite', this.#onRawRemoteCloseWrite)
    raw.removeEventListener('close', this.#onRawClose)
  }
}

/** Resolves once the write queue has been handed to the raw connection; rejects if the stream closes first. */
async function waitForIdle (stream: BoxMessageStream, signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('idle', onIdle)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onIdle = (): void => { cleanup(); resolve() }
    const onClose = (evt: StreamCloseEvent): void => {
      cleanup()
      reject(evt.error ?? new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the connection closed before the queued data was sent'))
    }
    const onAbort = (): void => {
      cleanup()
      reject(new AbortError('closing the shs connection was aborted while data was still queued', { cause: signal?.reason }))
    }
    if (signal?.aborted === true) { onAbort(); return }
    stream.addEventListener('idle', onIdle)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}
