/**
 * One cancellation source for a handshake: the caller's AbortSignal and the handshake timeout,
 * merged, with a timer that is always cleared (no timer outlives a finished handshake).
 */
import { AbortError, HandshakeTimeoutError, type ShsError } from '../errors.ts'
import { checkSignal, checkTimeout } from '../options.ts'

export interface DeadlineOptions {
  timeout?: number | undefined
  signal?: AbortSignal | undefined
}

export class Deadline {
  readonly #timeout: number
  readonly #timer: ReturnType<typeof setTimeout>
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => { this.#fire('aborted', this.#signal?.reason) }
  /** The races waiting now (a handshake runs one at a time): rejected when the deadline fires. */
  readonly #racing = new Set<() => void>()

  #cause: 'timeout' | 'aborted' | undefined
  #reason: unknown

  constructor (options: DeadlineOptions) {
    // Entry points check it at their call already; this keeps a Deadline safe on its own.
    const timeout = checkTimeout(options.timeout)
    this.#timeout = timeout
    // Checked before the timer exists: a bad signal must not leave one behind.
    this.#signal = checkSignal(options.signal)
    this.#timer = setTimeout(() => { this.#fire('timeout') }, timeout)
    if (this.#signal?.aborted === true) this.#onAbort()
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** The timeout passed or the caller aborted. */
  get fired (): boolean {
    return this.#cause !== undefined
  }

  /** The typed error for why the deadline fired; `stage` says what was being waited for. */
  error (stage: string): ShsError {
    if (this.#cause === 'timeout') return new HandshakeTimeoutError(this.#timeout, stage)
    return new AbortError(`the handshake was aborted by its AbortSignal while ${stage}`,
      { cause: this.#reason })
  }

  /** Clears the timer and the listener; call it however the handshake ended. */
  dispose (): void {
    clearTimeout(this.#timer)
    this.#signal?.removeEventListener('abort', this.#onAbort)
  }

  /**
   * Resolves with `promise`, or rejects with the deadline's error once it fires (its own list of
   * races, not an abort listener each: docs/PERFORMANCE.md, "Handshakes without a promise per step").
   */
  race<T> (promise: Promise<T>, stage: () => string): Promise<T> {
    if (this.fired) {
      promise.catch(() => {})
      return Promise.reject(this.error(stage()))
    }
    return new Promise<T>((resolve, reject) => {
      const onFire = (): void => { reject(this.error(stage())) }
      this.#racing.add(onFire)
      promise.then(
        (value) => { this.#racing.delete(onFire); resolve(value) },
        (err: unknown) => { this.#racing.delete(onFire); reject(err) })
    })
  }

  /**
   * Aborts as the caller's signal would, for an owner that cancels without an AbortSignal of
   * its own (a listener has thousands of handshakes; a signal each would cost more than they do).
   */
  abort (reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    this.#fire('aborted', reason)
  }

  #fire (cause: 'timeout' | 'aborted', reason?: unknown): void {
    if (this.#cause !== undefined) return
    this.#cause = cause
    this.#reason = reason
    for (const onFire of this.#racing) onFire()
    this.#racing.clear()
  }
}
