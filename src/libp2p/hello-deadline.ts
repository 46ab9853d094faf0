/**
 * The server side's hello deadline: a client that has not sent its whole hello (message 1, 64
 * bytes) within `helloTimeout` of the encrypter starting is dropped, instead of holding one of
 * libp2p's pending upgrades until `inboundUpgradeTimeout`. A real client sends its hello at once.
 */
import { HandshakeTimeoutError } from '../errors.ts'
import type { HandshakeProgress } from '../driver/types.ts'

export class HelloDeadline {
  readonly #controller = new AbortController()
  readonly #timer: ReturnType<typeof setTimeout>
  readonly #helloTimeout: number
  #late = false

  constructor (helloTimeout: number) {
    this.#helloTimeout = helloTimeout
    this.#timer = setTimeout(() => {
      this.#late = true
      this.#controller.abort()
    }, helloTimeout)
  }

  /** The handshake's signal: the caller's (libp2p's upgrade deadline), and this deadline. */
  signal (caller: AbortSignal | undefined): AbortSignal {
    return caller === undefined ? this.#controller.signal : AbortSignal.any([caller, this.#controller.signal])
  }

  /** Note each handshake step; the client's hello meets the deadline. */
  progress (step: HandshakeProgress): void {
    if (step.event === 'received' && step.message === 'clientHello') clearTimeout(this.#timer)
  }

  /** The handshake ended: the timer goes, and a late hello is reported as such rather than as an abort. */
  settle (error: unknown): unknown {
    clearTimeout(this.#timer)
    return this.#late ? new HandshakeTimeoutError(this.#helloTimeout, 'waiting for the client\'s hello (message 1), shs({ helloTimeout })') : error
  }
}
