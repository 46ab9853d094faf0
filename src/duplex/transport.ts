/**
 * The secure stream on an it-pipe duplex: a thin transport under `SecureStreamDriver`. One
 * outbound queue feeds the raw sink for the connection's whole life (handshake messages first,
 * then sealed packets), and one pump reads the raw source into the connection until it ends, the
 * read queue is full (it then waits), or the connection is over.
 */
import { SecureStreamDriver } from '../driver/secure-stream.ts'
import { type StreamTransport, connectionBroke } from '../driver/transport.ts'
import type { SessionKeys } from '../handshake/session.ts'
import type { ByteReader } from './reader.ts'
import type { ByteDuplex, SecureStream } from '../driver/types.ts'

interface Queued {
  readonly bytes: Uint8Array
  readonly taken: () => void
}

/**
 * The outbound half of a duplex: everything we write goes through this one queue, which the raw
 * sink pulls from. A write's promise resolves when the raw sink takes its bytes, that is when it
 * asks for more: the transport's backpressure reaches the application's source unchanged. (With
 * an it-pushable and its onEmpty() in this place, a fast writer ran ahead of a slow raw sink
 * without bound: test/stream.test.ts keeps that from coming back.)
 */
export class Outbound implements AsyncIterable<Uint8Array> {
  readonly #queue: Queued[] = []
  #consumer: ((result: IteratorResult<Uint8Array>) => void) | undefined
  #ended = false
  readonly done: Promise<void>

  constructor (raw: ByteDuplex) {
    this.done = Promise.resolve().then(async () => { await raw.sink(this) })
    // During the handshake a failed sink shows as the peer hanging up; afterwards the secure
    // stream tears down on it (see createSecureStream). Either way it is never unhandled.
    this.done.catch(() => {})
  }

  /** Queues bytes; the promise resolves once the raw sink has taken them (at once after `end()`). */
  push (bytes: Uint8Array): Promise<void> {
    if (this.#ended) return Promise.resolve()
    return new Promise((resolve) => {
      this.#queue.push({ bytes, taken: resolve })
      this.#hand()
    })
  }

  /** Nothing more will be written (goodbye was the last, or the connection failed). */
  end (): void {
    if (this.#ended) return
    this.#ended = true
    this.#hand()
  }

  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
    return {
      next: async () => await new Promise<IteratorResult<Uint8Array>>((resolve) => {
        this.#consumer = resolve
        this.#hand()
      }),
      return: async () => {
        this.#ended = true
        for (const queued of this.#queue.splice(0)) queued.taken()
        this.#consumer?.({ value: undefined, done: true })
        this.#consumer = undefined
        return { value: undefined, done: true }
      }
    }
  }

  /** Gives the waiting raw sink the next bytes, or the end once everything queued was taken. */
  #hand (): void {
    const consumer = this.#consumer
    if (consumer === undefined) return
    const queued = this.#queue.shift()
    if (queued !== undefined) {
      this.#consumer = undefined
      consumer({ value: queued.bytes, done: false })
      queued.taken()
    } else if (this.#ended) {
      this.#consumer = undefined
      consumer({ value: undefined, done: true })
    }
  }
}

export function createSecureStream (raw: ByteDuplex, reader: ByteReader, outbound: Outbound, session: SessionKeys): SecureStream {
  const stream = new SecureStreamDriver(session)
  const transport = new DuplexTransport(raw, reader, outbound, stream)
  stream.attach(transport)
  outbound.done.catch((err: unknown) => { transport.sinkFailed(err) })
  void transport.pump()
  return stream
}

/** What the connection's life cycle asks of the duplex, and the pump; a class, so a connection costs no closures. */
class DuplexTransport implements StreamTransport {
  readonly #raw: ByteDuplex
  readonly #reader: ByteReader
  readonly #outbound: Outbound
  readonly #stream: SecureStreamDriver
  #wake: (() => void) | undefined
  #paused = false
  #stopped = false

  constructor (raw: ByteDuplex, reader: ByteReader, outbound: Outbound, stream: SecureStreamDriver) {
    this.#raw = raw
    this.#reader = reader
    this.#outbound = outbound
    this.#stream = stream
  }

  write (sealed: Uint8Array, _buffer: Uint8Array | undefined, taken: () => void): void {
    void this.#outbound.push(sealed).then(taken)
  }

  async writeLast (sealed: Uint8Array): Promise<void> {
    const taken = this.#outbound.push(sealed)
    // Goodbye is the last thing we write: ending the raw sink is the duplex's half-close.
    this.#outbound.end()
    await taken
  }

  /** Both goodbyes exchanged: our sink has ended already; stop reading, which lets the source go. */
  close (): void {
    this.#stopped = true
    this.#reader.close()
    this.#wake?.()
  }

  destroy (error: Error): void {
    this.#outbound.end()
    this.close()
    this.#raw.abort?.(error)
  }

  pause (): void {
    this.#paused = true
  }

  resume (): void {
    this.#paused = false
    this.#wake?.()
  }

  /** The raw sink failed: during the stream that breaks the connection (after end() it is moot). */
  sinkFailed (err: unknown): void {
    if (!this.#stopped) this.#stream.transportFailed(connectionBroke(err))
  }

  /** Reads the raw source into the connection until it ends, the read queue is full (then waits), or the connection is over. */
  async pump (): Promise<void> {
    const stream = this.#stream
    try {
      for (;;) {
        while (this.#paused && !this.#stopped) await new Promise<void>((resolve) => { this.#wake = resolve })
        if (this.#stopped) return
        const chunk = await this.#reader.readChunk()
        if (this.#stopped) return
        if (chunk === undefined) {
          stream.receiveEnd()
          return
        }
        stream.receive(chunk)
      }
    } catch (err) {
      if (!this.#stopped) stream.transportFailed(connectionBroke(err))
    }
  }
}
