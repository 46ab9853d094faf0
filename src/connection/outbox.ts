/**
 * The outbound half of a connection's life cycle, in the way a socket's cork works: plaintext the
 * application writes while the transport still holds our previous write is gathered, and sealed
 * in one call once the transport takes that write (the encoder fills whole 4096-byte packets from
 * the gathered chunks). With nothing in flight a write is sealed and sent at once, so a lone
 * keystroke from an interactive session never waits for company.
 *
 * Gathered chunks are held by reference until they are sealed, as a socket holds what is written
 * to it: the application hands a chunk over when it yields it.
 */
import { BoxConnection } from './machine.ts'

/**
 * Plaintext gathered behind a write in flight before the writer must wait: one batch, sealed
 * into one pooled 64 KiB transport buffer. Beyond it the transport's backpressure holds the writer.
 */
export const MAX_GATHERED_BYTES = 64 * 1024

/** What the outbox needs from a transport (the sending part of `StreamTransport`). */
export interface OutboxTransport {
  /** A buffer to seal `sealedLength` bytes into, reused after the transport took it (optional). */
  outputBuffer? (sealedLength: number): Uint8Array | undefined
  /**
   * Sends sealed bytes and calls `taken` once the transport has taken them (the kernel has them,
   * the raw sink asked for more): until then the outbox gathers what follows. A transport that
   * fails never calls it; it reports the failure instead.
   */
  write (sealed: Uint8Array, buffer: Uint8Array | undefined, taken: () => void): void
}

export class Outbox {
  readonly #connection: BoxConnection
  readonly #transport: OutboxTransport
  #gathered: Uint8Array[] = []
  #gatheredBytes = 0
  /** Writes handed to the transport that it has not taken yet. */
  #inFlight = 0
  /** The chunk that did not fit the full batch, and the writer waiting with it. */
  #overflow: Uint8Array | undefined
  #room: (() => void) | undefined
  readonly #taken = (): void => { this.#onTaken() }

  constructor (connection: BoxConnection, transport: OutboxTransport) {
    this.#connection = connection
    this.#transport = transport
  }

  /**
   * Sends `bytes` now, or gathers them behind the write in flight. Returns a promise only when
   * the batch is full: it resolves once the transport took the write before it, and `bytes`
   * then start the next batch.
   */
  write (bytes: Uint8Array): Promise<void> | undefined {
    if (this.#inFlight === 0) {
      this.#send(bytes)
      return undefined
    }
    // A full batch still fits the transport's pooled buffer; the chunk that would overflow it waits.
    if (this.#gatheredBytes > 0 && this.#gatheredBytes + bytes.byteLength > MAX_GATHERED_BYTES) {
      this.#overflow = bytes
      return new Promise((resolve) => { this.#room = resolve })
    }
    this.#gather(bytes)
    return undefined
  }

  /** Sends what is gathered at once, queued behind what is in flight (before goodbye). */
  flush (): void {
    if (this.#gatheredBytes > 0) this.#sendGathered()
  }

  #gather (bytes: Uint8Array): void {
    this.#gathered.push(bytes)
    this.#gatheredBytes += bytes.byteLength
  }

  #sendGathered (): void {
    const chunks = this.#gathered
    this.#gathered = []
    this.#gatheredBytes = 0
    this.#send(chunks)
  }

  #send (chunks: Uint8Array | Uint8Array[]): void {
    const transport = this.#transport
    let length = 0
    if (chunks instanceof Uint8Array) length = chunks.byteLength
    else for (const chunk of chunks) length += chunk.byteLength
    const buffer = transport.outputBuffer?.(BoxConnection.sealedLength(length))
    const sealed = this.#connection.send(chunks, buffer)
    this.#inFlight++
    transport.write(sealed, sealed.buffer === buffer?.buffer ? buffer : undefined, this.#taken)
  }

  #onTaken (): void {
    this.#inFlight--
    // After a teardown nothing more goes out; the waiting writer learns of it from the teardown.
    if (this.#connection.writing !== 'open' || this.#inFlight > 0) return
    if (this.#gatheredBytes > 0) this.#sendGathered()
    const overflow = this.#overflow
    if (overflow !== undefined) {
      this.#overflow = undefined
      this.#gather(overflow)
    }
    const room = this.#room
    this.#room = undefined
    room?.()
  }
}
