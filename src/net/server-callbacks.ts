/**
 * The application's callbacks of a server (`listen`, `listenWebSocket`), contained: whatever one
 * throws or rejects closes that one connection, is reported as a `CallbackError` naming the
 * callback (its `cause` is what was thrown), and the server keeps serving. Checked once, when the
 * server is created.
 */
import { SecureStreamDriver } from '../driver/secure-stream.ts'
import { CallbackError, ShsError } from '../errors.ts'
import { checkCallback } from '../options.ts'
import type { HandshakeProgress, SecureStream, ServerHandshakeOptions } from '../driver/types.ts'
import type { GuardOptions } from './listen-guard.ts'

/** Where a connection comes from. Every callback about one connection gets the same object. */
export interface RemoteAddress {
  host: string
  port: number
}

export interface ServerCallbacks<Remote> {
  /** Decides on each client after it proved its key; default: accept every client that knows our key. */
  authorize?: ((remotePublicKey: Uint8Array, remote: Remote) => boolean | Promise<boolean>) | undefined
  /** Told as each connection is accepted, before its handshake starts. */
  onConnection?: ((remote: Remote) => void) | undefined
  /** Told about each connection that did not become a stream (refused, timed out, invalid, a callback threw). */
  onHandshakeError?: ((error: ShsError, remote: Remote) => void) | undefined
  /** Told as each connection's handshake messages are sent, or received and verified. */
  onHandshakeProgress?: ((progress: HandshakeProgress, remote: Remote) => void) | undefined
  /**
   * Told when a connection fails after its handshake because `onStream` threw or rejected (the
   * stream was aborted), or when `onHandshakeError` itself threw; and, from `listen()`, when the
   * server cannot accept (an `AcceptError`: out of file descriptors or memory; `remote` is then
   * `{ host: '', port: 0 }`). Without it such errors become process warnings: never an unhandled rejection.
   */
  onError?: ((error: ShsError, remote: Remote) => void) | undefined
}

/**
 * What every server of this library (`listen`, `listenWebSocket`) takes. The hostile-load options
 * (admission, hello deadline, connection caps, idle timeout) are GuardOptions; see docs/HOSTILE-LOAD.md.
 */
export interface ServerOptions extends Omit<ServerHandshakeOptions, 'signal' | 'authorize' | 'onHandshakeProgress'>,
  GuardOptions, ServerCallbacks<RemoteAddress> {
  /** Interface to bind; default `127.0.0.1`, so nothing is exposed unless asked for. */
  host?: string
  /** Port; 0 picks a free one (read it back with `address()`). */
  port: number
}

export type OnStream<Remote> = (stream: SecureStream, remote: Remote) => void | Promise<void>

export class ContainedCallbacks<Remote> {
  readonly authorize: ServerCallbacks<Remote>['authorize']
  readonly onHandshakeProgress: ServerCallbacks<Remote>['onHandshakeProgress']
  readonly #onStream: OnStream<Remote>
  readonly #onConnection: ServerCallbacks<Remote>['onConnection']
  readonly #onHandshakeError: ServerCallbacks<Remote>['onHandshakeError']
  readonly #onError: ServerCallbacks<Remote>['onError']

  constructor (options: ServerCallbacks<Remote>, onStream: OnStream<Remote>) {
    this.#onStream = checkCallback(onStream, 'onStream') as OnStream<Remote>
    this.authorize = checkCallback(options.authorize, 'authorize')
    this.#onConnection = checkCallback(options.onConnection, 'onConnection')
    this.#onHandshakeError = checkCallback(options.onHandshakeError, 'onHandshakeError')
    this.onHandshakeProgress = checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
    this.#onError = checkCallback(options.onError, 'onError')
  }

  /** Tells `onConnection`; what it throws comes back as the reason to refuse the connection. */
  connection (remote: Remote): CallbackError | undefined {
    try {
      this.#onConnection?.(remote)
      return undefined
    } catch (err) {
      return new CallbackError('onConnection', err)
    }
  }

  /** Reports to `onError`; if there is none or it throws too, a process warning says it. */
  error (error: ShsError, remote: Remote): void {
    try {
      if (this.#onError === undefined) process.emitWarning(error)
      else this.#onError(error, remote)
    } catch (err) {
      process.emitWarning(new CallbackError('onError', err))
    }
  }

  handshakeError (error: ShsError, remote: Remote): void {
    try {
      this.#onHandshakeError?.(error, remote)
    } catch (err) {
      this.error(new CallbackError('onHandshakeError', err), remote)
    }
  }

  /**
   * The stream goes to `onStream`; if that throws or rejects, the stream is aborted and the error
   * reported. A rejection with the stream's own teardown (the peer left without goodbye, and the
   * handler passed on what its reading or writing met) is no fault of the callback: it goes to
   * `onError` as it is, if there is one, and is no warning otherwise (peers leave all the time).
   */
  deliver (stream: SecureStream, remote: Remote): void {
    const fail = (err: unknown): void => {
      if (err instanceof ShsError && stream instanceof SecureStreamDriver && stream.isTeardown(err)) {
        if (this.#onError !== undefined) this.error(err, remote)
        return
      }
      const error = new CallbackError('onStream', err)
      stream.abort(error)
      this.error(error, remote)
    }
    try {
      const result = this.#onStream(stream, remote)
      if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') (result as PromiseLike<void>).then(undefined, fail)
    } catch (err) {
      fail(err)
    }
  }
}
