/**
 * A Node `stream.Duplex` view of a secure stream, for code built on `pipe()`, `pipeline()` and
 * stream events. It keeps a socket's promises:
 *
 * - `write(chunk, callback)`: the callback runs once the chunk was used up (sealed, or copied to
 *   wait for the rest of its packet), so the caller may refill its buffer there, as on a socket.
 *   Backpressure is the connection's own: `write()` returns false while chunks wait.
 * - `end()` sends goodbye (a half-close) once everything before it is out; 'finish' comes then.
 * - The readable side ends ('end') at the peer's goodbye; a truncated or tampered stream is an
 *   'error' instead, as a reset is on a socket.
 * - `destroy()` before both sides ended cleanly tears the connection down (the peer sees a
 *   truncation), as destroying a socket does.
 * - `rekeying`, `rekeys` and `rekey()` are the secure stream's (docs/REKEY.md).
 */
import { Duplex } from 'node:stream'
import { InvalidOptionError, ShsError } from '../errors.ts'
import { describeValue } from '../options.ts'
import type { SecureStream } from '../driver/types.ts'
import { type RekeyView, withRekeyView } from '../driver/rekey-view.ts'

interface Pending {
  readonly chunk: Uint8Array
  readonly done: (error?: Error | null) => void
}

const END: IteratorResult<Uint8Array> = { value: undefined, done: true }

/** The Node stream, with the connection's rekey state (docs/REKEY.md) passed through. */
export type SecureNodeDuplex = Duplex & RekeyView

export function toNodeDuplex (secure: SecureStream): SecureNodeDuplex {
  const candidate = secure as Partial<SecureStream> | null
  if (typeof secure !== 'object' || candidate === null || typeof candidate.sink !== 'function' ||
      typeof candidate.abort !== 'function' || typeof (candidate.source as object | undefined)?.[Symbol.asyncIterator as keyof object] !== 'function') {
    throw new InvalidOptionError('secure', `toNodeDuplex needs a secure stream (what connect(), listen() or a handshake gives), got ${describeValue(secure)}`)
  }
  return withRekeyView(new SecureDuplex(secure), secure)
}

class SecureDuplex extends Duplex {
  readonly #secure: SecureStream
  readonly #reader: AsyncIterator<Uint8Array>
  #reading = false
  #readEnded = false
  #writeEnded = false
  /** A chunk written and not yet taken by the connection's sink. */
  #pending: Pending | undefined
  /** The chunk the sink took last: it is used up when the sink asks for the next one. */
  #taken: Pending | undefined
  /** The sink waiting for a chunk. */
  #pull: ((result: IteratorResult<Uint8Array>) => void) | undefined
  #ending: ((error?: Error | null) => void) | undefined
  /** The connection failed while a chunk waited for the reader: reported after it (see the constructor). */
  #sinkFailure: Error | undefined

  constructor (secure: SecureStream) {
    // No readable buffer of its own (the connection has one): a chunk is asked for only when it
    // is wanted, so an error after authentic data comes after that data, not in place of it.
    super({ allowHalfOpen: true, readableHighWaterMark: 0 })
    this.#secure = secure
    this.#reader = secure.source[Symbol.asyncIterator]()
    const outgoing: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => await this.#next(),
        return: async () => { this.#release(); return END }
      })
    }
    secure.sink(outgoing).then(() => {
      this.#writeEnded = true
      this.#ending?.()
    }, (err: unknown) => {
      // A chunk read but not yet taken by the reader comes first: the readable side then meets
      // the same error after it. Otherwise there is nothing to wait for.
      if (this.readableLength > 0 && !this.#readEnded) this.#sinkFailure = asError(err)
      else this.destroy(asError(err))
    })
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.#sinkFailure !== undefined) {
      this.destroy(this.#sinkFailure)
      return
    }
    this.#pending = { chunk, done }
    this.#hand()
  }

  override _final (done: (error?: Error | null) => void): void {
    if (this.#sinkFailure !== undefined) {
      done(this.#sinkFailure)
      return
    }
    this.#ending = done
    this.#hand()
  }

  override _read (): void {
    if (this.#reading) return
    this.#reading = true
    this.#reader.next().then((result) => {
      this.#reading = false
      if (result.done === true) {
        this.#readEnded = true
        this.push(null)
      } else {
        this.push(result.value)
      }
    }, (err: unknown) => {
      this.#reading = false
      this.destroy(asError(err))
    })
  }

  override _destroy (error: Error | null, done: (error?: Error | null) => void): void {
    if (!this.#readEnded || !this.#writeEnded) {
      this.#secure.abort(error ?? new ShsError('ERR_BOX_STREAM_CLOSED', 'the Node stream was destroyed before both sides ended'))
    }
    this.#release()
    done(error)
  }

  /** The sink asks for the next chunk: the one before it is used up, so its writer may go on. */
  async #next (): Promise<IteratorResult<Uint8Array>> {
    const taken = this.#taken
    this.#taken = undefined
    taken?.done()
    return await new Promise((resolve) => {
      this.#pull = resolve
      this.#hand()
    })
  }

  #hand (): void {
    const pull = this.#pull
    if (pull === undefined) return
    const pending = this.#pending
    if (pending !== undefined) {
      this.#pull = undefined
      this.#pending = undefined
      this.#taken = pending
      pull({ value: pending.chunk, done: false })
    } else if (this.#ending !== undefined) {
      this.#pull = undefined
      pull(END)
    }
  }

  /** The sink stopped (the connection was torn down): no chunk waiting can go out. */
  #release (): void {
    this.#pull?.(END)
    this.#pull = undefined
  }
}

function asError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
