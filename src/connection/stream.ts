/**
 * The one life cycle of a secure stream, shared by every transport that hands out a
 * `SecureStream` (TCP and it-pipe duplexes): the plaintext read queue with its backpressure, the
 * sink loop, and what happens at goodbye and teardown. The `BoxConnection` machine decides; this
 * class turns its decisions into promises, and a small `StreamTransport` does the I/O.
 */
import { ConnectionError, ShsError } from '../errors.ts'
import type { SecureStream } from '../stream/types.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { toBytes } from '../stream/reader.ts'
import { BoxConnection } from './machine.ts'
import { Outbox, type OutboxTransport } from './outbox.ts'

/** What a transport must do for the stream; everything else is decided here. */
export interface StreamTransport extends OutboxTransport {
  /** Sends the last bytes (goodbye) and resolves once the transport took them. */
  flush (sealed: Uint8Array): Promise<void>
  /** Both directions ended cleanly: close gracefully (TCP: FIN). */
  end (): void
  /** Teardown: close at once. */
  destroy (error: Error): void
  /** The read queue is full / has room again. */
  pause (): void
  resume (): void
}

/**
 * Plaintext held for a slow reader before we stop reading the transport. Counted as memory
 * pinned, not plaintext length: each queued chunk also costs its ArrayBuffer and object headers.
 */
export const READ_QUEUE_HIGH_WATER_MARK = 1024 * 1024
/** A conservative estimate of what one queued Uint8Array with its own ArrayBuffer costs beyond its bytes. */
export const QUEUED_CHUNK_OVERHEAD_BYTES = 160

const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true }

type Chunk = Uint8Array | { subarray(): Uint8Array }
type PlainSource = AsyncIterable<Chunk> | Iterable<Chunk>

export class ConnectionStream implements SecureStream, AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  readonly remotePublicKey: Uint8Array
  readonly #connection: BoxConnection
  #transport: StreamTransport | undefined
  readonly #queue: Uint8Array[] = []
  #queuedBytes = 0
  #paused = false
  /** The pending `next()`'s settlers (kept as two fields: no object per read). */
  #resolveNext: ((result: IteratorResult<Uint8Array>) => void) | undefined
  #rejectNext: ((error: Error) => void) | undefined
  #iterated = false
  #returned = false
  #endDelivered = false
  #sinkDone = false
  /** Rejects the sink (once) with the teardown's error. */
  #onTeardown: ((error: Error) => void) | undefined
  /** `sink` and `abort` bound to this stream, made on first use: an idle connection holds no closures. */
  #boundSink: ((plaintext: PlainSource) => Promise<void>) | undefined
  #boundAbort: SecureStream['abort'] | undefined

  static sealedLength (plaintextBytes: number): number {
    return BoxConnection.sealedLength(plaintextBytes)
  }

  constructor (session: SessionKeys) {
    this.#connection = new BoxConnection(session)
    this.remotePublicKey = this.#connection.remotePublicKey
  }

  /** Attaches the transport once the adapter has wired it (it may feed bytes right after). */
  attach (transport: StreamTransport): void {
    this.#transport = transport
  }

  get connection (): BoxConnection {
    return this.#connection
  }

  // --- inbound, driven by the transport --------------------------------------------------------

  /** Bytes from the transport (with `reuseInput` when the chunk is ours to overwrite). */
  receive (bytes: Uint8Array, reuseInput = false): void {
    const connection = this.#connection
    for (const plaintext of connection.receive(bytes, { reuseInput })) {
      if (plaintext.byteLength === 0) continue
      this.#queue.push(plaintext)
      this.#queuedBytes += plaintext.byteLength + QUEUED_CHUNK_OVERHEAD_BYTES
    }
    if (connection.failure !== undefined) {
      this.#tearDown(connection.failure)
    } else if (connection.reading === 'ended') {
      // Keep reading to the transport's end: any byte after goodbye is a violation to catch.
      if (this.#paused) { this.#paused = false; this.#transport?.resume() }
      this.#endIfFinished()
    }
    if (!this.#paused && this.#queuedBytes >= READ_QUEUE_HIGH_WATER_MARK && connection.reading === 'open') {
      this.#paused = true
      this.#transport?.pause()
    }
    this.#settle()
  }

  /** The transport ended its side (TCP FIN, a duplex source that returned). */
  receiveEnd (): void {
    this.#connection.receiveEnd()
    if (this.#connection.failure !== undefined) this.#tearDown(this.#connection.failure)
    this.#settle()
  }

  /**
   * The transport failed or closed under us. The error may come as a function that makes it:
   * every connection's transport closes at its end, and a clean end needs no error object.
   */
  transportFailed (error: Error | (() => Error)): void {
    const connection = this.#connection
    if (connection.finished && connection.failure === undefined) {
      // Both goodbyes were exchanged: nothing was lost, the transport only closed. Once our
      // goodbye was flushed too (the sink resolved), no one can be told of an error any more.
      if (this.#sinkDone) connection.close()
      else connection.abort(typeof error === 'function' ? error() : error)
      return
    }
    this.#tearDown(typeof error === 'function' ? error() : error)
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
    // The machine's rule: the first claim is the reader; a second while it reads throws.
    if (!this.#iterated || (!this.#returned && !this.#endDelivered)) this.#connection.claimReader()
    this.#iterated = true
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
    if (this.#connection.reading === 'open') {
      this.#tearDown(new ShsError('ERR_BOX_STREAM_CLOSED', 'the application stopped reading the secure stream'))
    }
    return DONE
  }

  // --- the application's writer ----------------------------------------------------------------

  // Bound, not a plain method: it-pipe code passes `stream.sink` around on its own.
  get sink (): (plaintext: PlainSource) => Promise<void> {
    return this.#boundSink ??= (plaintext) => {
      try {
        this.#connection.claimWriter()
      } catch (err) {
        // Misuse (a second sink) is the caller's bug: theirs to see, not to be swallowed.
        return Promise.reject(err)
      }
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
    return error !== undefined && error === this.#connection.failure
  }

  async #sink (plaintext: PlainSource): Promise<void> {
    const connection = this.#connection
    const iterator = Symbol.asyncIterator in plaintext
      ? (plaintext as AsyncIterable<Chunk>)[Symbol.asyncIterator]()
      : (plaintext as Iterable<Chunk>)[Symbol.iterator]()
    const progress = { sourceDone: false }
    try {
      // The teardown settles the sink at once, even while the source or the transport keeps the
      // writing loop waiting: one rejection per sink, not a Promise.race per chunk, whose
      // reactions would pile up on a long-lived teardown promise and cost more than the write.
      await new Promise<void>((resolve, reject) => {
        this.#onTeardown = reject
        if (connection.failure !== undefined) reject(connection.failure)
        else this.#writeAll(iterator, progress).then(resolve, reject)
      })
    } catch (err) {
      // Close the application's source (unless it ended or threw itself) so it can release what it holds.
      if (!progress.sourceDone) closeQuietly(iterator)
      this.#tearDown(err as Error)
      throw connection.failure ?? err
    } finally {
      this.#onTeardown = undefined
    }
    this.#sinkDone = true
    this.#endIfFinished()
  }

  /**
   * The writing loop. After a teardown it may still wake up: the machine then refuses to seal.
   * Written as promise callbacks rather than an async function: each chunk then costs the
   * source's promise and one reaction, not the resumption of a suspended function as well
   * (a few percent of the CPU time of a stream of 100-byte writes).
   */
  #writeAll (iterator: AsyncIterator<Chunk> | Iterator<Chunk>, progress: { sourceDone: boolean }): Promise<void> {
    const connection = this.#connection
    const transport = this.#transport as StreamTransport
    const outbox = new Outbox(connection, transport)
    // Looked up once, as for-await does (ECMA-262, GetIterator keeps [[NextMethod]]): each sink's
    // source usually has a map of its own (every async generator function makes one), so a
    // lookup per chunk would see a new map per connection and keep this loop deoptimizing.
    const next = iterator.next as () => Promise<IteratorResult<Chunk>> | IteratorResult<Chunk>
    return new Promise<void>((resolve, reject) => {
      const pull = (): void => {
        try {
          Promise.resolve(next.call(iterator)).then(take, reject)
        } catch (err) {
          reject(err)
        }
      }
      const take = (result: IteratorResult<Chunk>): void => {
        try {
          if (result.done === true) {
            progress.sourceDone = true
            outbox.flush()
            // shs1.md, "Box-stream": goodbye marks a clean end of what we send (a half-close).
            transport.flush(connection.goodbye()).then(resolve, reject)
            return
          }
          const bytes = toBytes(result.value)
          const room = bytes.byteLength === 0 ? undefined : outbox.write(bytes)
          if (room === undefined) pull()
          else room.then(pull, reject)
        } catch (err) {
          reject(err)
        }
      }
      pull()
    })
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
    const connection = this.#connection
    if (chunk !== undefined) {
      this.#queuedBytes -= chunk.byteLength + QUEUED_CHUNK_OVERHEAD_BYTES
      if (this.#paused && this.#queuedBytes < READ_QUEUE_HIGH_WATER_MARK) {
        this.#paused = false
        if (connection.failure === undefined) this.#transport?.resume()
      }
      this.#releaseReader()
      resolve({ value: chunk, done: false })
    } else if (connection.reading === 'ended') {
      this.#releaseReader()
      this.#endDelivered = true
      resolve(DONE)
    } else if (connection.failure !== undefined) {
      const reject = this.#rejectNext as (error: Error) => void
      this.#releaseReader()
      reject(connection.failure)
    }
  }

  #releaseReader (): void {
    this.#resolveNext = undefined
    this.#rejectNext = undefined
  }

  /** Both goodbyes exchanged and our last bytes flushed: close the transport gracefully. */
  #endIfFinished (): void {
    if (this.#sinkDone && this.#connection.finished && this.#connection.failure === undefined) this.#transport?.end()
  }

  /** Tampering, truncation, a broken transport, an abort: the connection is over, both ways. */
  #tearDown (error: Error): void {
    const connection = this.#connection
    connection.abort(error)
    // What the connection reports is the first failure; later ones only confirm it.
    const failure = connection.failure as Error
    // Plaintext authenticated before the failure stays readable; the failure comes after it.
    if (this.#returned) {
      this.#queue.length = 0
      this.#queuedBytes = 0
    }
    this.#transport?.destroy(failure)
    this.#onTeardown?.(failure)
    this.#settle()
  }
}

function ignoreReportedElsewhere (): void {}

function closeQuietly (iterator: AsyncIterator<unknown> | Iterator<unknown>): void {
  try {
    const returned = iterator.return?.()
    if (returned instanceof Promise) returned.catch(() => {})
  } catch {
    // The application's source failed while closing; the sink already rejects with the teardown's error.
  }
}

/** A transport failure in the words the library uses for one. */
export function connectionBroke (err: unknown): Error {
  if (err instanceof ShsError) return err
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const message = (err as Error | undefined)?.message
  // An error with no message (Node's WebSocket makes them) is named by its class, never as "()".
  const reason = code ?? (message === '' ? `${(err as Error).name} without a message` : message ?? String(err))
  return new ConnectionError(`the connection broke (${reason}): the peer crashed or the network failed`, { cause: err })
}
