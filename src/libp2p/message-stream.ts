/**
 * The secured connection libp2p gets back from `shs()`: a `MessageStream` whose bytes travel as a
 * box stream over the raw connection. Everything libp2p-facing (buffering, pause, backpressure
 * bookkeeping, events) is `AbstractMessageStream`'s; every rule about the box stream's ends is
 * the `BoxStream` machine's. This class moves bytes between the two and acts on the machine's
 * events:
 *
 * - `close()` flushes, then sends goodbye: a half-close, the peer's data keeps arriving. Both
 *   goodbyes exchanged close the raw connection.
 * - A packet that fails authentication, bytes after goodbye, or a transport cut inside a packet
 *   abort the connection: nothing after the failure is ever delivered.
 * - libp2p's `Connection.close()` closes the muxer and then the raw connection, never this stream,
 *   so no goodbye goes out first. A raw connection that ends between two packets is therefore a
 *   clean end here, as for noise and TLS in libp2p: the muxer's own frames say whether each of
 *   its streams ended (a yamux stream cut before its FIN is reset). Our own node closing the raw
 *   connection is a local close, never a truncation.
 * - With the rekey extension, its control packets go out at once (every send here is), its
 *   timers are `RekeyClock`'s, and a rekey the peer never completes aborts the connection.
 */
import type {
  AbortOptions, Logger, MessageStream, StreamCloseEvent, StreamMessageEvent
} from '@libp2p/interface'
import { AbstractMessageStream, type SendResult } from '@libp2p/utils'
import { MAX_BODY_BYTES } from '../boxstream/constants.ts'
import type { PushOptions } from '../boxstream/decoder.ts'
import { BoxStream, type BoxStreamEvent } from '../connection/box-stream.ts'
import { RekeyClock } from '../driver/rekey.ts'
import { BoxStreamError } from '../errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { MAX_ENCODE_BATCH_BYTES } from './constants.ts'
import type { TransportEnd } from './handshake.ts'
import type { ShsMetrics } from './metrics.ts'
import { type SocketWriteQueue, type SpareOutput, kernelSocketOf } from './sealed-output.ts'
import { waitForIdle } from './wait-idle.ts'

/**
 * libp2p's byte list, named through the base class so this file does not depend on whichever
 * copy of `uint8arraylist` happens to be installed beside it.
 */
type ByteList = Parameters<AbstractMessageStream['sendData']>[0]

/**
 * Received chunks are opened over their ciphertext, and a plaintext may be a view into a larger
 * zeroed buffer of its own: libp2p hands each chunk to its listeners and keeps none, and the
 * muxers keep views anyway (docs/PERFORMANCE.md, "libp2p").
 */
const RECEIVE_OPTIONS: PushOptions = { reuseInput: true, exact: false }
/** The handshake's leftover bytes may be views its reader shares: opened into a buffer of their own. */
const LEFTOVER_OPTIONS: PushOptions = { exact: false }
const END_OPTIONS = { betweenPacketsIsClean: true } as const

export interface ShsMessageStreamInit {
  readonly raw: MessageStream
  readonly session: SessionKeys
  /** Box-stream bytes that arrived with the last handshake message. */
  readonly leftover: readonly Uint8Array[]
  /** The raw connection ended before the handshake code let go of it. */
  readonly transportEnd?: TransportEnd | undefined
  readonly metrics?: ShsMetrics | undefined
  /** The encrypter's spare send buffer, used when the raw connection is a `node:net` socket. */
  readonly spareOutput?: SpareOutput | undefined
  /** The connection's `shs` logger, when the encrypter made one for the handshake already. */
  readonly log?: Logger | undefined
}

export class ShsMessageStream extends AbstractMessageStream {
  readonly #raw: MessageStream
  readonly #box: BoxStream
  readonly #metrics: ShsMetrics | undefined
  /** The raw connection's `node:net` socket, when it tells us that a sent buffer is free again. */
  readonly #socket: SocketWriteQueue | undefined
  readonly #spareOutput: SpareOutput | undefined
  /** The rekey extension's timers and `rekey()` promises, when the handshake agreed on it. */
  readonly #rekey: RekeyClock | undefined

  readonly #onRawMessage = (evt: StreamMessageEvent): void => { this.#receive(evt.data, RECEIVE_OPTIONS) }
  readonly #onRawDrain = (): void => { this.safeDispatchEvent('drain') }
  readonly #onRawRemoteCloseWrite = (): void => { this.#onTransportEnd(undefined) }
  readonly #onRawClose = (evt: StreamCloseEvent): void => {
    if (evt.error !== undefined && evt.local !== true) this.onRemoteReset()
    else if (evt.error === undefined && evt.local === true) this.#onLocalClose()
    else this.#onTransportEnd(evt.error)
  }

  constructor (init: ShsMessageStreamInit) {
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
    const box = this.#box = new BoxStream(session)
    const settings = box.rekeySettings
    if (settings !== undefined) {
      this.#rekey = new RekeyClock(box, settings, (error) => { this.abort(error) })
      this.#rekey.attach({ writeSealed: (sealed) => { this.#raw.send(sealed) } })
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
    const output = socket === undefined ? undefined : spares?.take(BoxStream.sealedLength(plaintext))
    const sealed = this.#box.send(Array.from(data), output)
    this.#metrics?.encryptedPackets.increment(Math.ceil(plaintext / MAX_BODY_BYTES))
    const canSendMore = this.#raw.send(sealed)
    if (socket !== undefined && this.#raw.writeBufferLength === 0 && socket.writableLength === 0) {
      spares?.giveBack(output !== undefined && sealed.buffer === output.buffer ? output : sealed)
    }
    // After the batch, so a REQUEST it made due follows it on the wire.
    this.#rekey?.afterSeal()
    return { sentBytes: plaintext, canSendMore }
  }

  /** Whether the handshake agreed on the rekey extension (`/shs-rekey/...`, docs/REKEY.md). */
  get rekeying (): boolean {
    return this.#rekey !== undefined
  }

  /** Rekeys completed so far (always 0 without the extension). */
  get rekeys (): number {
    return this.#box.rekeys
  }

  /**
   * Fresh keys now: resolves once a rekey completed after the call. Rejects with
   * `ERR_SHS_REKEY_NOT_NEGOTIATED` on a plain `/shs` connection, `ERR_BOX_STREAM_CLOSED` once a
   * goodbye went either way, or with the error that ended the connection.
   */
  async rekey (): Promise<void> {
    const rekey = this.#rekey
    // Without the extension the machine throws the typed error that says so.
    if (rekey === undefined) this.#box.rekey()
    await (rekey as RekeyClock).request()
  }

  sendReset (err: Error): void {
    this.#release(err)
    this.#raw.abort(err)
  }

  sendPause (): void {
    this.#raw.pause()
  }

  sendResume (): void {
    this.#raw.resume()
  }

  /** Half-closes: flushes what is queued, then sends goodbye. The peer may keep sending until its own goodbye. */
  async close (options?: AbortOptions): Promise<void> {
    if (this.writeStatus !== 'writable') return
    this.writeStatus = 'closing'
    if (this.status === 'open') this.status = 'closing'
    if (this.sendingData || this.writeBuffer.byteLength > 0) {
      // Goodbye must follow the last packet, so wait until the queue was sealed and sent.
      await waitForIdle(this, options?.signal)
    }
    if (this.writeStatus !== 'closing') return // aborted while waiting
    const goodbye = this.#box.goodbye()
    this.#raw.send(goodbye.bytes)
    this.writeStatus = 'closed'
    this.log.trace('sent box-stream goodbye')
    this.#rekey?.sync()
    if (goodbye.finished) await this.#closeTransport(options)
  }

  /** Opens every complete packet in `data` synchronously and delivers the plaintext as one message. */
  #receive (data: StreamMessageEvent['data'], options: PushOptions): void {
    if (this.status === 'aborted' || this.status === 'reset' || this.status === 'closed') return
    const box = this.#box
    const packetsBefore = box.packetsReceived
    const events: BoxStreamEvent[] = []
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      events.push(...box.receive(chunk, options))
      if (box.failure !== undefined) break
    }
    const opened = box.packetsReceived - packetsBefore
    if (opened > 0) this.#metrics?.decryptedPackets.increment(opened)
    this.#apply(events)
  }

  #apply (events: readonly BoxStreamEvent[]): void {
    let queued = false
    for (const event of events) {
      switch (event.type) {
        case 'data':
          // As onData() would, but for the whole batch before one dispatch.
          if (this.readStatus === 'closing' || this.readStatus === 'closed') break
          this.readBuffer.append(event.plaintext)
          queued = true
          break
        case 'goodbye':
          // Authentic plaintext from before it is handed over first.
          if (queued) { this.dispatchReadBuffer(); queued = false }
          this.log.trace('received box-stream goodbye')
          this.onRemoteCloseWrite()
          break
        case 'finished':
          this.#closeTransport().catch((err: unknown) => {
            this.log.error('closing the raw connection after both goodbyes failed - %e', err)
          })
          break
        case 'failed':
          if (queued) { this.dispatchReadBuffer(); queued = false }
          if (event.error instanceof BoxStreamError) this.#metrics?.decryptErrors.increment()
          this.abort(event.error)
          break
        case 'write':
          this.#rekey?.write(event.bytes)
          break
        case 'rekeyed':
          this.#rekey?.rekeyed()
          this.#metrics?.rekeys.increment()
          break
      }
    }
    if (queued) this.dispatchReadBuffer()
    this.#rekey?.sync()
  }

  /** The raw connection will deliver nothing more (see the class comment for what that means here). */
  #onTransportEnd (error: Error | undefined): void {
    if (error !== undefined) {
      this.abort(error)
      return
    }
    if (this.status === 'aborted' || this.status === 'reset' || this.status === 'closed') return
    const events = this.#box.receiveEnd(END_OPTIONS)
    const failed = events.find((event) => event.type === 'failed')
    if (failed !== undefined) {
      this.onTransportClosed(failed.error)
      return
    }
    if (events.some((event) => event.type === 'goodbye')) this.onRemoteCloseWrite()
    this.onTransportClosed()
  }

  /** Our own node closed the raw connection (libp2p's `Connection.close()`): a local close, no error. */
  #onLocalClose (): void {
    this.#box.abort(new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the connection was closed by this node'))
    this.onTransportClosed()
  }

  async #closeTransport (options?: AbortOptions): Promise<void> {
    try {
      await this.#raw.close(options)
    } catch (err) {
      this.#raw.abort(err as Error)
      throw err
    } finally {
      this.onTransportClosed()
    }
  }

  /** Wipes the session keys, clears the rekey timers and stops listening to the raw connection. */
  #release (error?: Error): void {
    const box = this.#box
    if (box.failure === undefined && !box.finished) {
      box.abort(error ?? new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the libp2p stream was closed'))
    }
    this.#rekey?.stop(box.failure ?? new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the connection ended before a rekey could complete'))
    const raw = this.#raw
    raw.removeEventListener('message', this.#onRawMessage)
    raw.removeEventListener('drain', this.#onRawDrain)
    raw.removeEventListener('remoteCloseWrite', this.#onRawRemoteCloseWrite)
    raw.removeEventListener('close', this.#onRawClose)
  }
}
