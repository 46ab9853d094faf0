/**
 * The rekey extension's clock for a secure stream (docs/REKEY.md, "Triggers"): the machine
 * decides what a rekey is; here are its timers, its packets' way out (the outbox, in order with
 * the data) and the promises of `stream.rekey()`. Every timer is cleared when the stream ends.
 */
import type { BoxStream } from '../connection/box-stream.ts'
import type { SessionRekey } from '../handshake/session.ts'
import { BoxStreamError } from '../errors.ts'

/** Where control packets go: the outbox (in order with the data), or any adapter that sends at once. */
export interface SealedSink {
  writeSealed (sealed: Uint8Array): void
}

type Timer = ReturnType<typeof setTimeout>

interface Waiter {
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/** A timer that does not keep a process alive on its own (Node; elsewhere timers never do). */
function background (run: () => void, ms: number): Timer {
  const timer = setTimeout(run, ms)
  ;(timer as { unref?: () => void }).unref?.()
  return timer
}

export class RekeyClock {
  readonly #box: BoxStream
  readonly #settings: SessionRekey
  readonly #fail: (error: Error) => void
  #outbox: SealedSink | undefined
  #afterMs: Timer | undefined
  #retry: Timer | undefined
  #deadline: Timer | undefined
  #waiters: Waiter[] = []
  #stopped = false
  /** For the outbox: after each seal, start a rekey once `afterBytes` are out. */
  readonly afterSeal = (): void => { if (this.#box.rekeyDue) this.#start() }

  /** `fail` tears the stream down (a rekey the peer never completed). */
  constructor (box: BoxStream, settings: SessionRekey, fail: (error: Error) => void) {
    this.#box = box
    this.#settings = settings
    this.#fail = fail
    this.#afterMs = background(() => { this.#onAfterMs() }, settings.afterMs)
  }

  attach (outbox: SealedSink): void {
    this.#outbox = outbox
  }

  /** Control packets the machine produced while reading: out in order with the data. */
  write (bytes: Uint8Array): void {
    this.#outbox?.writeSealed(bytes)
  }

  /** A rekey completed: the next `afterMs` counts from here. */
  rekeyed (): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter.resolve()
    if (this.#stopped) return
    // Whatever a retry waited to start is done: fresh keys, both ways.
    clearTimeout(this.#retry)
    this.#retry = undefined
    clearTimeout(this.#afterMs)
    this.#afterMs = background(() => { this.#onAfterMs() }, this.#settings.afterMs)
  }

  /** `stream.rekey()`: resolves once a rekey completes after the call. */
  request (): Promise<void> {
    const box = this.#box
    if (box.failure !== undefined) return Promise.reject(box.failure)
    if (!this.#bothOpen()) return Promise.reject(closedBeforeRekey())
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject })
      if (!box.rekeyInFlight) this.#start()
    })
  }

  /**
   * After anything that may have moved the machine: a rekey under way has `timeout` to complete,
   * and once a direction has ended no new one can start.
   */
  sync (): void {
    const box = this.#box
    if (box.rekeyInFlight) {
      this.#deadline ??= background(() => { this.#onDeadline() }, this.#settings.timeout)
    } else if (this.#deadline !== undefined) {
      clearTimeout(this.#deadline)
      this.#deadline = undefined
    }
    if (!this.#bothOpen() && !box.rekeyInFlight) this.stop(closedBeforeRekey())
  }

  /** The stream ended or was torn down: no timer stays, no promise waits. */
  stop (error: Error): void {
    this.#stopped = true
    clearTimeout(this.#afterMs)
    clearTimeout(this.#retry)
    clearTimeout(this.#deadline)
    this.#afterMs = this.#retry = this.#deadline = undefined
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter.reject(error)
  }

  #start (): void {
    if (this.#stopped) return
    const box = this.#box
    const request = box.rekey()
    if (request !== undefined) {
      this.write(request)
      this.sync()
      return
    }
    // Our own rate cap said wait: try again when it allows (unless something else is under way).
    const wait = box.rekeyAllowedIn
    if (wait > 0 && !box.rekeyInFlight && this.#retry === undefined) {
      this.#retry = background(() => { this.#retry = undefined; this.#start() }, wait)
    }
  }

  #onAfterMs (): void {
    this.#afterMs = undefined
    this.#start()
  }

  #onDeadline (): void {
    this.#deadline = undefined
    this.#fail(new BoxStreamError('ERR_BOX_STREAM_REKEY_TIMEOUT',
      `the peer did not complete a rekey within ${this.#settings.timeout} ms (rekey.timeout): it stopped reading, ` +
      'its link is congested beyond that, or it is broken or hostile'))
  }

  #bothOpen (): boolean {
    return this.#box.reading === 'open' && this.#box.writing === 'open'
  }
}

function closedBeforeRekey (): BoxStreamError {
  return new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the connection ended (a goodbye either way) before a rekey could complete: a rekey needs both directions open')
}
