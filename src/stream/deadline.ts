/**
 * One cancellation source for a handshake: the caller's AbortSignal and the handshake timeout,
 * merged, with a timer that is always cleared (no timer outlives a finished handshake).
 */
import { AbortError, HandshakeTimeoutError, type ShsError } from '../errors.ts'
import { checkTimeout } from '../options.ts'

export interface DeadlineOptions {
  timeout?: number | undefined
  signal?: AbortSignal | undefined
}

export class Deadline {
  readonly #controller = new AbortController()
  readonly #timeout: number
  readonly #timer: ReturnType<typeof setTimeout>
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => {
    this.#cause ??= 'aborted'
    this.#controller.abort('aborted')
  }

  #cause: 'timeout' | 'aborted' | undefined

  constructor (options: DeadlineOptions) {
    // Entry points check it at their call already; this keeps a Deadline safe on its own.
    const timeout = checkTimeout(options.timeout)
    this.#timeout = timeout
    this.#signal = options.signal
    this.#timer = setTimeout(() => {
      this.#cause ??= 'timeout'
      this.#controller.abort('timeout')
    }, timeout)
    if (this.#signal?.aborted === true) this.#onAbort()
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Fires when the timeout passes or the caller aborts. */
  get signal (): AbortSignal {
    return this.#controller.signal
  }

  /** The typed error for why the deadline fired; `stage` says what was being waited for. */
  error (stage: string): ShsError {
    if (this.#cause === 'timeout') return new HandshakeTimeoutError(this.#timeout, stage)
    return new AbortError(`the handshake was aborted by its AbortSignal while ${stage}`,
      { cause: this.#signal?.reason })
  }

  /** Clears the timer and the listener; call it however the handshake ended. */
  dispose (): void {
    clearTimeout(this.#timer)
    this.#signal?.removeEventListener('abort', this.#onAbort)
  }

  /** Resolves with `promise`, or rejects with the deadline's error once it fires. */
  race<T> (promise: Promise<T>, stage: () => string): Promise<T> {
    const signal = this.#controller.signal
    if (signal.aborted) {
      promise.catch(() => {})
      return Promise.reject(this.error(stage()))
    }
    return new Promise<T>((resolve, reject) => {
      const onFire = (): void => { reject(this.error(stage())) }
      signal.addEventListener('abort', onFire, { once: true })
      promise.then(
        (value) => { signal.removeEventListener('abort', onFire); resolve(value) },
        (err: unknown) => { signal.removeEventListener('abort', onFire); reject(err) })
    })
  }
}
