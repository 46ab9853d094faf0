/**
 * Drives the sans-IO `SecretHandshake` over a libp2p `MessageStream`: write what the machine
 * produces, read the exact byte counts it asks for, all under one deadline made of the caller's
 * AbortSignal and the handshake timeout.
 *
 * Reading is done here rather than with `byteStream()` from @libp2p/utils because the bytes that
 * follow the last handshake message (the first box-stream packets, which may share a TCP segment
 * with it) must go straight to the box-stream decoder, even if the transport closed meanwhile;
 * `byteStream().unwrap()` would push them back into a stream that may already refuse them.
 */
import type { Logger, MessageStream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { SecretHandshake } from '../handshake/machine.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { HandshakeError, HandshakeTimeoutError } from '../errors.ts'
import { HANG_UP_TIMEOUT_MS } from './constants.ts'
import { ChunkQueue } from '../driver/chunks.ts'
import { HelloDeadline } from './hello-deadline.ts'
import { type HandshakeTransport, runHandshake as runSharedHandshake, withDeadline } from '../driver/handshake.ts'

export interface HandshakeOptions {
  signal?: AbortSignal | undefined
  timeout: number
  log: Logger
  /**
   * The server's decision on the client key proven by message 3. Returning an error refuses the
   * client (message 4 is never sent) and the handshake rejects with that error.
   */
  checkClient?: ((remotePublicKey: Uint8Array) => Error | undefined) | undefined
  /** On the server: milliseconds for the client's whole hello (./hello-deadline.ts). */
  helloTimeout?: number | undefined
}

export interface HandshakeOutcome {
  readonly session: SessionKeys
  /** What arrived after the last handshake message: the start of the box stream, in order. */
  readonly leftover: Uint8Array[]
  /** Set when the transport already ended (or failed) while the handshake finished. */
  readonly transportEnd: TransportEnd | undefined
}

export interface TransportEnd {
  readonly error: Error | undefined
}

/**
 * Runs the shared handshake loop over the libp2p stream. On any failure the machine wipes its
 * secrets, we write nothing more (SHS: a peer that fails or refuses hangs up) and the typed error
 * is thrown: `AbortError`, `HandshakeTimeoutError`, `HandshakeError`, or the refusal error
 * `checkClient` returned. A timeout, an abort or a broken transport aborts the raw connection; a
 * peer that failed the handshake or was refused is hung up on with a close (see `hangUp`).
 */
export async function runHandshake (
  connection: MessageStream, machine: SecretHandshake, options: HandshakeOptions
): Promise<HandshakeOutcome> {
  const { log } = options
  const reader = new MessageReader(connection)
  let refusal: Error | undefined
  const transport: HandshakeTransport = {
    read: (length) => reader.read(length),
    // The return value only says the transport's buffer is over its mark; a handshake message is
    // at most 112 bytes and waits in that buffer, so there is nothing to wait for here.
    write: (bytes) => { connection.send(bytes) },
    abort: (error) => {
      reader.detach()
      log.error('shs %s: handshake failed - %s', machine.role, error.message)
      if (isPeerFailure(error)) hangUp(connection, refusal ?? error, log)
      else connection.abort(refusal ?? error)
    }
  }
  const authorize = (remotePublicKey: Uint8Array): boolean => {
    refusal = options.checkClient?.(remotePublicKey)
    return refusal === undefined
  }
  const hello = options.helloTimeout === undefined ? undefined : new HelloDeadline(options.helloTimeout)
  try {
    const signal = hello === undefined ? options.signal : hello.signal(options.signal)
    const session = await withDeadline({ timeout: options.timeout, signal }, async (deadline) =>
      await runSharedHandshake(transport, machine, deadline, authorize, (progress) => {
        hello?.progress(progress)
        log.trace('shs %s: %s %s', machine.role, progress.event, progress.message)
      }))
    hello?.settle(undefined)
    const { leftover, transportEnd } = reader.detach()
    log.trace('shs %s: handshake complete, %d bytes of box stream already received', machine.role,
      leftover.reduce((sum, chunk) => sum + chunk.byteLength, 0))
    return { session, leftover, transportEnd }
  } catch (err) {
    throw refusal ?? hello?.settle(err) ?? err
  }
}

/** The peer sent something invalid, hung up, or was refused: not a timeout, abort or broken transport. */
function isPeerFailure (error: Error): boolean {
  return error instanceof HandshakeError && !(error instanceof HandshakeTimeoutError)
}

/**
 * Closes rather than aborts: both end the connection with nothing more from us, but only a close
 * reaches the peer on every transport. @libp2p/websockets 10 aborts with WebSocket close code
 * 1006, which neither `ws` nor a browser may send: the call throws, the socket stays open, and a
 * browser dialling with the wrong network key would learn nothing until its dial timed out
 * (test/libp2p/upstream.test.ts). A close that cannot finish in time is cut short by an abort.
 */
function hangUp (connection: MessageStream, reason: Error, log: Logger): void {
  connection.close({ signal: AbortSignal.timeout(HANG_UP_TIMEOUT_MS) }).catch((err: unknown) => {
    log('shs: hanging up gracefully failed (%s), aborting the connection', (err as Error).message)
    connection.abort(reason)
  })
}

/** Collects the stream's bytes and serves exact-length reads from them. */
class MessageReader {
  readonly #connection: MessageStream
  readonly #chunks = new ChunkQueue()
  #end: TransportEnd | undefined
  #wake: (() => void) | undefined
  #attached = true

  readonly #onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    if (data instanceof Uint8Array) this.#append(data)
    else for (const chunk of data) this.#append(chunk)
    this.#notify()
  }

  readonly #onClose = (evt: StreamCloseEvent): void => {
    this.#end ??= { error: evt.error }
    this.#notify()
  }

  readonly #onRemoteCloseWrite = (): void => {
    this.#end ??= { error: undefined }
    this.#notify()
  }

  constructor (connection: MessageStream) {
    this.#connection = connection
    if (connection.status === 'aborted' || connection.status === 'reset' || connection.status === 'closed') {
      this.#end = { error: undefined }
    }
    connection.addEventListener('message', this.#onMessage)
    connection.addEventListener('close', this.#onClose)
    connection.addEventListener('remoteCloseWrite', this.#onRemoteCloseWrite)
  }

  /**
   * Exactly `length` bytes, or undefined if the peer stopped sending first. Transport errors are
   * thrown. A message that has arrived already is returned at once, without a promise.
   */
  read (length: number): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    if (this.#chunks.length >= length) return this.#chunks.take(length)
    return this.#waitFor(length)
  }

  async #waitFor (length: number): Promise<Uint8Array | undefined> {
    while (this.#chunks.length < length) {
      const end = this.#end
      if (end !== undefined) {
        if (end.error !== undefined) throw end.error
        return undefined
      }
      await new Promise<void>((resolve) => { this.#wake = resolve })
    }
    return this.#chunks.take(length)
  }

  /** Stops listening and returns what was not read, and whether the transport has ended. */
  detach (): { leftover: Uint8Array[], transportEnd: TransportEnd | undefined } {
    if (this.#attached) {
      this.#attached = false
      this.#connection.removeEventListener('message', this.#onMessage)
      this.#connection.removeEventListener('close', this.#onClose)
      this.#connection.removeEventListener('remoteCloseWrite', this.#onRemoteCloseWrite)
    }
    return { leftover: this.#chunks.drain(), transportEnd: this.#end }
  }

  #append (chunk: Uint8Array): void {
    this.#chunks.push(chunk)
  }

  #notify (): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}
