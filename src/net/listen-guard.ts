/**
 * What stands between listen()'s accept and its handshakes under hostile load: admission (per
 * source, overall, random early drop, penalties), a short deadline for the client's hello, caps
 * on established connections and their idle timeout. listen() asks once per connection and
 * settles once; everything here is released however the handshake ends.
 */
import type { Socket } from 'node:net'
import { HandshakeError, type ShsError } from '../errors.ts'
import { isPromiseLike } from '../driver/handshake.ts'
import type { HandshakeProgress, SecureStream } from '../driver/types.ts'
import { Admission, type AdmissionOptions, type AdmissionTicket } from './admission.ts'
import { type ConnectionLimitOptions, ConnectionLimits, type Release, UNCOUNTED_SLOT } from './connection-limits.ts'
import { checkIdleTimeout, watchIdle } from './idle.ts'
import { MAX_TIMEOUT_MS, integerOption } from '../options.ts'

export interface GuardOptions extends AdmissionOptions, ConnectionLimitOptions {
  /**
   * Milliseconds a client may take to send its whole hello (message 1, 64 bytes) after TCP
   * connects (default 5 000). A real client sends it at once; a staller is dropped here instead
   * of holding a slot for the whole handshake timeout.
   */
  helloTimeout?: number
  /** Milliseconds an established connection may go without a byte either way (default: no limit). */
  idleTimeout?: number
}

export const DEFAULT_HELLO_TIMEOUT_MS = 5_000

/** Codes of handshakes that ended for reasons that are not the client's fault: no penalty. */
const NOT_THE_CLIENTS_FAULT = new Set<ShsError['code']>(['ERR_SHS_ABORTED', 'ERR_SHS_TOO_MANY_CONNECTIONS', 'ERR_SHS_AUTHORIZE_FAILED'])

export class ListenGuard {
  readonly #admission: Admission
  readonly #limits: ConnectionLimits
  readonly #helloTimeout: number
  readonly #idleTimeout: number | undefined
  readonly #closing: AbortSignal
  /**
   * The handshakes admitted and not yet settled. The listener's closing signal has one listener,
   * here, that aborts them all: a listener per handshake on one signal costs more to add and
   * remove than the rest of the handshake's bookkeeping.
   */
  readonly #inProgress = new Set<GuardedHandshake>()

  constructor (options: GuardOptions, closing: AbortSignal) {
    this.#admission = new Admission(options)
    this.#limits = new ConnectionLimits(options)
    this.#helloTimeout = integerOption('helloTimeout', options.helloTimeout, DEFAULT_HELLO_TIMEOUT_MS, { min: 1, max: MAX_TIMEOUT_MS })
    this.#idleTimeout = checkIdleTimeout(options.idleTimeout)
    this.#closing = closing
    closing.addEventListener('abort', () => {
      for (const guarded of this.#inProgress) guarded.abort()
    }, { once: true })
  }

  /** Handshakes admitted and not yet settled. */
  get pending (): number {
    return this.#admission.pending
  }

  /** A guarded handshake for a connection from `host`, or the refusal to report (the socket is then to be closed unread). */
  admit (host: string, handshakeTimeout: number | undefined): GuardedHandshake | HandshakeError {
    const ticket = this.#admission.admit(host)
    if (ticket instanceof HandshakeError) return ticket
    // A hello deadline at or beyond the handshake's own adds nothing.
    const helloTimeout = handshakeTimeout !== undefined && handshakeTimeout <= this.#helloTimeout ? undefined : this.#helloTimeout
    const guarded = new GuardedHandshake(ticket, this.#limits, this.#inProgress, helloTimeout, this.#idleTimeout)
    if (this.#closing.aborted) guarded.abort()
    return guarded
  }
}

export class GuardedHandshake {
  readonly #ticket: AdmissionTicket
  readonly #limits: ConnectionLimits
  readonly #inProgress: Set<GuardedHandshake>
  readonly #idleTimeout: number | undefined
  readonly #helloTimeout: number | undefined
  /** Who stops the handshake: set by `onAbort` (or `signal`) when the handshake starts. */
  #stop: (() => void) | undefined
  #aborted = false
  #helloTimer: ReturnType<typeof setTimeout> | undefined
  #helloLate = false
  #limitRefusal: HandshakeError | undefined
  #slot: Release | undefined

  constructor (ticket: AdmissionTicket, limits: ConnectionLimits, inProgress: Set<GuardedHandshake>, helloTimeout: number | undefined, idleTimeout: number | undefined) {
    this.#ticket = ticket
    this.#limits = limits
    this.#inProgress = inProgress
    this.#idleTimeout = idleTimeout
    this.#helloTimeout = helloTimeout
    inProgress.add(this)
    if (helloTimeout !== undefined) {
      this.#helloTimer = setTimeout(() => {
        this.#helloLate = true
        this.abort()
      }, helloTimeout)
    }
  }

  /** Calls `stop` when the listener stops or the hello is late (at once if that happened already); one stopper per handshake. */
  onAbort (stop: () => void): void {
    if (this.#aborted) stop()
    else this.#stop = stop
  }

  /**
   * The same as an AbortSignal, for handshakes that take one. A handshake has one stopper: this
   * takes the place of `onAbort`, so call one of them, once.
   */
  abortSignal (): AbortSignal {
    const controller = new AbortController()
    this.onAbort(() => { controller.abort() })
    return controller.signal
  }

  /** The listener stops or the hello is late: stop the handshake. */
  abort (): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#stop?.()
  }

  /** Note each handshake step; the client's hello stops the hello deadline. */
  progress (step: HandshakeProgress): void {
    if (step.event === 'received' && step.message === 'clientHello') clearTimeout(this.#helloTimer)
  }

  /**
   * Checks the connection caps before the application's own decision; a refusal here is reported
   * with its own code. Answers at once when the application does (no promise per handshake).
   */
  authorize (remotePublicKey: Uint8Array, decide: () => boolean | Promise<boolean>): boolean | Promise<boolean> {
    const slot = this.#limits.reserve(remotePublicKey)
    if (typeof slot === 'string') {
      this.#limitRefusal = new HandshakeError('ERR_SHS_TOO_MANY_CONNECTIONS', `refused a client that proved its key: ${slot}`)
      return false
    }
    this.#slot = slot
    let answer: boolean | Promise<boolean>
    try {
      answer = decide()
    } catch (err) {
      this.#releaseSlot()
      throw err
    }
    if (!isPromiseLike(answer)) return this.#decided(answer)
    return Promise.resolve(answer).then((accepted) => this.#decided(accepted), (err: unknown) => {
      this.#releaseSlot()
      throw err
    })
  }

  /** The handshake failed: release everything, and return the error to report (more precise where we know why). */
  failed (error: ShsError): ShsError {
    const reported = this.#limitRefusal ?? (this.#helloLate ? this.#lateHello() : error)
    this.#settle(NOT_THE_CLIENTS_FAULT.has(reported.code) ? 'done' : 'failed')
    this.#releaseSlot()
    return reported
  }

  /**
   * The handshake succeeded on a transport that is not ours to watch (a multiserver stream): its
   * admission slot is free again. Only for guards without connection caps or idle timeout.
   */
  handedOn (): void {
    this.#settle('done')
    this.#releaseSlot()
  }

  /** The handshake succeeded: the established connection keeps its slot until the socket closes, and gets the idle timeout. */
  established (socket: Socket, stream: SecureStream): SecureStream {
    this.#settle('done')
    const slot = this.#slot
    if (slot !== undefined && slot !== UNCOUNTED_SLOT) {
      // 'close' comes once, and a slot is released once anyway: no once() wrapper needed.
      if (socket.destroyed) slot()
      else socket.on('close', slot)
    }
    watchIdle(socket, stream, this.#idleTimeout)
    return stream
  }

  #lateHello (): HandshakeError {
    return new HandshakeError('ERR_SHS_HANDSHAKE_TIMEOUT', `the client sent no complete hello (message 1) within ${this.#helloTimeout ?? 0} ms ` +
      'of connecting (helloTimeout): a stalled or very slow client, or not an SHS client')
  }

  #settle (outcome: 'done' | 'failed'): void {
    clearTimeout(this.#helloTimer)
    // An established connection keeps no trace of its handshake's timer.
    this.#helloTimer = undefined
    this.#stop = undefined
    this.#inProgress.delete(this)
    this.#ticket.release(outcome)
  }

  #decided (accepted: boolean): boolean {
    if (!accepted) this.#releaseSlot()
    return accepted
  }

  #releaseSlot (): void {
    this.#slot?.()
    this.#slot = undefined
  }
}
