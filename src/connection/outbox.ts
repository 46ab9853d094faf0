/**
 * The outbound half of a connection's life cycle, in the way a socket's cork works: plaintext the
 * application writes while the transport still holds our previous write is gathered, and sealed
 * in one call once the transport takes that write (the encoder fills whole 4096-byte packets from
 * the gathered chunks). With nothing in flight a write is sealed and sent at once, so a lone
 * keystroke from an interactive session never waits for company.
 *
 * A gathered chunk smaller than a packet's body is copied at once into the batch's staging buffer:
 * the encoder would copy it anyway (it seals each packet from one piece of memory), and a batch of
 * hundreds of small writes then reaches it as a few pieces instead of a list of hundreds, which
 * costs less per write. Larger chunks are held by reference until they are sealed, as a socket
 * holds what is written to it (the application hands a chunk over when it yields it), and sealed
 * from where they are.
 */
import { MAX_BODY_BYTES } from '../boxstream/constants.ts'
import { BoxConnection } from './machine.ts'

/**
 * Plaintext gathered behind a write in flight before the writer must wait: one batch, sealed
 * into one pooled 64 KiB transport buffer. Beyond it the transport's backpressure holds the writer.
 */
export const MAX_GATHERED_BYTES = 64 * 1024
/** Gathered chunks below this are copied into the staging buffer (see above). */
const COPY_BELOW_BYTES = MAX_BODY_BYTES
/** The staging buffer's first size: a burst of a few small writes needs no more. It doubles up to MAX_GATHERED_BYTES. */
const FIRST_STAGING_BYTES = MAX_BODY_BYTES

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
  /** The batch so far, in order: runs of copied small chunks (views of a staging buffer) and large chunks. */
  #gathered: Uint8Array[] = []
  #gatheredBytes = 0
  /** Where small chunks are copied; `[#runStart, #stagedEnd)` is the run not yet in `#gathered`. */
  #staging: Uint8Array | undefined
  #runStart = 0
  #stagedEnd = 0
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
      this.#send(bytes, bytes.byteLength)
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
    const length = bytes.byteLength
    this.#gatheredBytes += length
    if (length >= COPY_BELOW_BYTES) {
      this.#closeRun()
      this.#gathered.push(bytes)
      return
    }
    let staging = this.#staging
    if (staging === undefined || this.#stagedEnd + length > staging.byteLength) staging = this.#growStaging(length)
    staging.set(bytes, this.#stagedEnd)
    this.#stagedEnd += length
  }

  /**
   * A staging buffer with room for `length` more bytes: twice the size of the full one (what is
   * staged in it stays there, as a run of the batch), or the first one. The small chunks of one
   * batch never need more than MAX_GATHERED_BYTES.
   */
  #growStaging (length: number): Uint8Array {
    this.#closeRun()
    const size = this.#staging === undefined ? FIRST_STAGING_BYTES : Math.min(2 * this.#staging.byteLength, MAX_GATHERED_BYTES)
    const staging = new Uint8Array(Math.max(size, length))
    this.#staging = staging
    this.#runStart = 0
    this.#stagedEnd = 0
    return staging
  }

  /** Ends the run of staged chunks, so a large chunk (or the send) follows it in order. */
  #closeRun (): void {
    if (this.#stagedEnd === this.#runStart) return
    this.#gathered.push((this.#staging as Uint8Array).subarray(this.#runStart, this.#stagedEnd))
    this.#runStart = this.#stagedEnd
  }

  #sendGathered (): void {
    this.#closeRun()
    const chunks = this.#gathered
    const length = this.#gatheredBytes
    this.#gathered = []
    this.#gatheredBytes = 0
    // The encoder seals the batch before `#send` returns: the staging buffer is free again.
    this.#runStart = 0
    this.#stagedEnd = 0
    this.#send(chunks, length)
  }

  #send (chunks: Uint8Array | Uint8Array[], length: number): void {
    const transport = this.#transport
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
    // Nothing was gathered behind the write just taken: the burst is over, let its buffer go.
    else this.#staging = undefined
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
