/**
 * The application's callbacks of a server (`listen`, `listenWebSocket`), contained: whatever one
 * throws or rejects closes that one connection, is reported as a `CallbackError` naming the
 * callback (its `cause` is what was thrown), and the server keeps serving. Checked once, when the
 * server is created.
 */
import { CallbackError, type ShsError } from '../errors.ts'
import { checkCallback } from '../options.ts'
import type { HandshakeProgress, SecureStream } from '../stream/types.ts'

export interface ServerCallbacks<Remote> {
  authorize?: ((remotePublicKey: Uint8Array, remote: Remote) => boolean | Promise<boolean>) | undefined
  onConnection?: ((remote: Remote) => void) | undefined
  onHandshakeError?: ((error: ShsError, remote: Remote) => void) | undefined
  onHandshakeProgress?: ((progress: HandshakeProgress, remote: Remote) => void) | undefined
  onError?: ((error: ShsError, remote: Remote) => void) | undefined
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

  /** The stream goes to `onStream`; if that throws or rejects, the stream is aborted and the error reported. */
  deliver (stream: SecureStream, remote: Remote): void {
    const fail = (err: unknown): void => {
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
