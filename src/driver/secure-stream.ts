/**
 * The `SecureStream` an application gets from every byte transport (TCP, it-pipe duplexes,
 * WebSocket): the box-stream machine driven for promises and async iterables. It keeps the one
 * read queue of the connection (with backpressure), the sink loop, and acts on the machine's
 * events; a small `StreamTransport` per transport does the I/O.
 */
import { BoxStream, type BoxStreamEvent } from '../connection/box-stream.ts'
import { BoxStreamError, ShsError } from '../errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { Outbox } from './outbox.ts'
import { RekeyClock } from './rekey.ts'
import type { Chunk, PlainSource, StreamTransport } from './transport.ts'
import type { SecureStream } from './types.ts'
import { writeAll } from './writer.ts'

/**
 * Plaintext held for a slow reader before we stop reading the transport. Counted as memory
 * pinned, not plaintext length: each queued chunk also costs its ArrayBuffer and object headers.
 */
export const READ_QUEUE_HIGH_WATER_MARK = 1024 * 1024
/** A conservative estimate of what one queued Uint8Array with its own ArrayBuffer costs beyond its bytes. */
export const QUEUED_CHUNK_OVERHEAD_BYTES = 160

const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true }

export class SecureStreamDriver implements SecureStream, AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  readonly remotePublicKey: Uint8Array
  readonly #box: BoxStream
  #transport: StreamTransport | undefined
  #outbox: Outbox | undefined
  /** The rekey extension's timers and promises, when the session has it. */
  readonly #rekey: RekeyClock | undefined
  readonly #queue: Uint8Array[] = []
  #queuedBytes = 0
  #paused = false
  /** The pending `next()`'s settlers (kept as two fields: no object per read). */
  #resolveNext: ((result: IteratorResult<Uint8Array>) => void) | undefined
  #rejectNext: ((error: Error) => void) | undefined
  #readerClaimed = false
  #writerClaimed = false
  #returned = false
  #endDelivered = false
  /** Rejects the sink (once) with the teardown's error. */
  #onTeardown: ((error: Error) => void) | undefined
  /** `sink` and `abort` bound to this stream, made on first use (docs/PERFORMANCE.md, "No closures per connection"). */
  #boundSink: ((plaintext: PlainSource) => Promise<void>) | undefined
  #boundAbort: SecureStream['abort'] | undefined

  static sealedLength (plaintextBytes: number): number {
    return BoxStream.sealedLength(plaintextBytes)
  }

  constructor (session: SessionKeys) {
    const box = this.#box = new BoxStream(session)
    this.remotePublicKey = box.remotePublicKey
    const settings = box.rekeySettings
    if (settings !== undefined) this.#rekey = new RekeyClock(box, settings, (error) => { this.#tearDown(error) })
  }

  /** Attaches the transport once the adapter has wired it (it may feed bytes right after). */
  attach (transport: StreamTransport): void {
    this.#transport = transport
    this.#outbox = new Outbox(this.#box, transport, this.#rekey?.afterSeal)
    this.#rekey?.attach(this.#outbox)
  }

  /** Whether the handshake agreed on the rekey extension (docs/REKEY.md). */
  get rekeying (): boolean {
    return this.#rekey !== undefined
  }

  /** Rekeys completed so far (always 0 without the extension). */
  get rekeys (): number {
    return this.#box.rekeys
  }

  /** Takes fresh keys now: resolves once a rekey completed after the call (docs/REKEY.md, "Triggers"). */
  rekey (): Promise<void> {
    const rekey = this.#rekey
    if (rekey === undefined) {
      try {
        this.#box.rekey()
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return (rekey as RekeyClock).request()
  }

  /** The machine, for what adapters report about it (goodbye received, packets). */
  get box (): BoxStream {
    return this.#box
  }

  // --- inbound, driven by the transport --------------------------------------------------------

  /** Bytes from the transport (with `reuseInput` when the chunk is ours to overwrite). */
  receive (bytes: Uint8Array, reuseInput = false): void {
    this.#apply(this.#box.receive(bytes, { reuseInput }))
    if (!this.#paused && this.#queuedBytes >= READ_QUEUE_HIGH_WATER_MARK && this.#box.reading === 'open') {
      this.#paused = true
      this.#transport?.pause()
    }
    this.#settle()
  }

  /** The transport ended its side (TCP FIN, a duplex source that returned). */
  receiveEnd (): void {
    this.#apply(this.#box.receiveEnd())
    this.#settle()
  }

  /**
   * The transport failed or closed under us. The error may come as a function that makes it:
   * every connection's transport closes at its end, and a clean end needs no error object.
   */
  transportFailed (error: Error | (() => Error)): void {
    // Both goodbyes exchanged: nothing was lost, the transport only closed.
    if (this.#box.finished || this.#box.failure !== undefined) return
    this.#tearDown(typeof error === 'function' ? error() : error)
  }

  #apply (events: readonly BoxStreamEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'data':
          this.#queue.push(event.plaintext)
          this.#queuedBytes += event.plaintext.byteLength + QUEUED_CHUNK_OVERHEAD_BYTES
          break
        case 'goodbye':
          // Keep reading to the transport's end: any byte after goodbye is a violation to catch.
          if (this.#paused) { this.#paused = false; this.#transport?.resume() }
          break
        case 'finished':
          this.#rekey?.stop(new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the connection ended before a rekey could complete'))
          this.#transport?.close()
          break
        case 'failed':
          this.#tearDown(event.error)
          break
        case 'write':
          this.#rekey?.write(event.bytes)
          break
        case 'rekeyed':
          this.#rekey?.rekeyed()
          break
      }
    }
    this.#rekey?.sync()
  }

  // --- the application's reader ----------------------------------------------------------------

  get source (): AsyncIterable<Uint8Array> {
    return this
  }

  /**
   * One reader: a second one while the first is still reading is an error. After the first
   * gave up (break), reading again is `ERR_BOX_STREAM_CLOSED` (from `next()`), never a quiet end.
   */
  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
    if (this.#readerClaimed && !this.#returned && !this.#endDelivered) {
      throw new ShsError('ERR_SHS_INVALID_STATE', 'the secure stream\'s source is already being read: read it from one place')
    }
    this.#readerClaimed = true
    return this
  }

  next (): Promise<IteratorResult<Uint8Array>> {
    return new Promise((resolve, reject) => {
      if (this.#resolveNext !== undefined) {
        reject(new ShsError('ERR_SHS_INVALID_STATE', 'the secure stream\'s source is already being read: read it from one place'))
        return
      }
      if (this.#returned) {
        reject(new ShsError('ERR_BOX_STREAM_CLOSED', 'the secure stream\'s source was already closed by its reader (break or return()): it cannot be read again'))
        return
      }
      this.#resolveNext = resolve
      this.#rejectNext = reject
      this.#settle()
    })
  }

  /** The reader gave up early: the connection cannot be read any more, so let it go. */
  async return (): Promise<IteratorResult<Uint8Array>> {
    this.#returned = true
    if (this.#box.reading === 'open') {
      this.#tearDown(new ShsError('ERR_BOX_STREAM_CLOSED', 'the application stopped reading the secure stream'))
    }
    return DONE
  }

  // --- the application's writer ----------------------------------------------------------------

  // Bound, not a plain method: it-pipe code passes `stream.sink` around on its own.
  get sink (): (plaintext: PlainSource) => Promise<void> {
    return this.#boundSink ??= (plaintext) => {
      if (this.#writerClaimed) {
        // Misuse (a second sink) is the caller's bug: theirs to see, not to be swallowed.
        return Promise.reject(new ShsError('ERR_SHS_INVALID_STATE', 'sink() was already called on this secure stream: pipe one source into it'))
      }
      this.#writerClaimed = true
      const sinking = this.#sink(plaintext)
      // What else can reject it is the connection's teardown, which `source` reports as well (and
      // the server's onError): an application that ignores this promise, as an echo written
      // `stream.sink(stream.source)` does, must not crash when a peer leaves without goodbye.
      sinking.catch(ignoreReportedElsewhere)
      return sinking
    }
  }

  /** Whether `error` is the one this connection was torn down with (not a failure of the application's own). */
  isTeardown (error: unknown): boolean {
    return error !== undefined && error === this.#box.failure
  }

  async #sink (plaintext: PlainSource): Promise<void> {
    const box = this.#box
    const iterator = Symbol.asyncIterator in plaintext
      ? (plaintext as AsyncIterable<Chunk>)[Symbol.asyncIterator]()
      : (plaintext as Iterable<Chunk>)[Symbol.iterator]()
    const progress = { sourceDone: false }
    try {
      // The teardown settles the sink at once, even while the source or the transport keeps the
      // writing loop waiting (docs/PERFORMANCE.md, "The sink loop").
      await new Promise<void>((resolve, reject) => {
        this.#onTeardown = reject
        if (box.failure !== undefined) reject(box.failure)
        else writeAll(box, this.#transport as StreamTransport, this.#outbox as Outbox, iterator, progress).then(resolve, reject)
      })
    } catch (err) {
      // Close the application's source (unless it ended or threw itself) so it can release what it holds.
      if (!progress.sourceDone) closeQuietly(iterator)
      this.#tearDown(err as Error)
      throw box.failure ?? err
    } finally {
      this.#onTeardown = undefined
      // Our goodbye is out (or the stream is over): no rekey can start any more.
      this.#rekey?.sync()
    }
  }

  get abort (): (reason?: Error) => void {
    return this.#boundAbort ??= (reason) => {
      this.#tearDown(reason ?? new ShsError('ERR_BOX_STREAM_CLOSED', 'the secure stream was aborted'))
    }
  }

  /** Hands the waiting reader its next chunk, the end, or the failure, if there is one yet. */
  #settle (): void {
    const resolve = this.#resolveNext
    if (resolve === undefined) return
    const chunk = this.#queue.shift()
    const box = this.#box
    if (chunk !== undefined) {
      this.#queuedBytes -= chunk.byteLength + QUEUED_CHUNK_OVERHEAD_BYTES
      if (this.#paused && this.#queuedBytes < READ_QUEUE_HIGH_WATER_MARK) {
        this.#paused = false
        if (box.failure === undefined) this.#transport?.resume()
      }
      this.#releaseReader()
      resolve({ value: chunk, done: false })
    } else if (box.reading === 'ended') {
      this.#releaseReader()
      this.#endDelivered = true
      resolve(DONE)
    } else if (box.failure !== undefined) {
      const reject = this.#rejectNext as (error: Error) => void
      this.#releaseReader()
      reject(box.failure)
    }
  }

  #releaseReader (): void {
    this.#resolveNext = undefined
    this.#rejectNext = undefined
  }

  /** Tampering, truncation, a broken transport, an abort: the connection is over, both ways. */
  #tearDown (error: Error): void {
    const box = this.#box
    box.abort(error)
    // What the connection reports is the first failure; later ones only confirm it.
    const failure = box.failure as Error
    // Plaintext authenticated before the failure stays readable; the failure comes after it.
    if (this.#returned) {
      this.#queue.length = 0
      this.#queuedBytes = 0
    }
    this.#rekey?.stop(failure)
    this.#transport?.destroy(failure)
    this.#onTeardown?.(failure)
    this.#settle()
  }
}

function ignoreReportedElsewhere (): void {}

function closeQuietly (iterator: AsyncIterator<unknown> | Iterator<unknown>): void {
  try {
    const returned = iterator.return?.()
    if (returned instanceof Promise) returned.catch(ignoreReportedElsewhere)
  } catch {
    // The application's source failed while closing; the sink already rejects with the teardown's error.
  }
}
