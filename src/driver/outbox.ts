/**
 * The outbound half of a connection's life cycle, in the way a socket's cork works: plaintext the
 * application writes while the transport still holds our previous write is gathered into one
 * batch, and the batch goes out as one write once the transport takes that previous write. With
 * nothing in flight a write is sealed and sent at once, so a lone keystroke from an interactive
 * session never waits for company.
 *
 * Every chunk is used up before the writer is asked for the next one, so an application may
 * refill its buffer as soon as it yields the next (or a Node `write()` callback fires): whole
 * packets are sealed from the chunk at once into the batch's buffer, and what is left of it
 * (less than a packet) is copied into the batch's tail, where it waits for the bytes that
 * complete its packet. The packets on the wire are the same as if the whole batch were sealed in
 * one call: full 4096-byte packets, and one short packet at the end of a batch.
 */
import { MAX_BODY_BYTES } from '../boxstream/constants.ts'
import { BoxStream } from '../connection/box-stream.ts'

/**
 * Plaintext gathered behind a write in flight before the writer must wait: one batch, sealed
 * into one pooled 64 KiB transport buffer. Beyond it the transport's backpressure holds the writer.
 */
export const MAX_GATHERED_BYTES = 64 * 1024
/** A batch's sealed bytes for at most MAX_GATHERED_BYTES of plaintext. */
const BATCH_CAPACITY = BoxStream.sealedLength(MAX_GATHERED_BYTES)
/** A batch whose transport lends no buffer starts this small (a burst of a few small writes needs no more) and doubles. */
const FIRST_BATCH_CAPACITY = BoxStream.sealedLength(4 * MAX_BODY_BYTES)

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
  readonly #connection: BoxStream
  readonly #transport: OutboxTransport
  /** Where the batch's packets are sealed; `#sealedBytes` of it are used. */
  #batch: Uint8Array | undefined
  /** The batch's buffer came from the transport (`outputBuffer`): it is handed back with the write. */
  #lent = false
  #sealedBytes = 0
  /** Plaintext of the batch's last, incomplete packet, copied; `#tailBytes` of it are used. */
  #tail: Uint8Array | undefined
  #tailBytes = 0
  /** Plaintext in the batch: sealed, and in the tail. */
  #gatheredBytes = 0
  /** Writes handed to the transport that it has not taken yet. */
  #inFlight = 0
  /** The chunk that did not fit the full batch (held, not yet used), and the writer waiting with it. */
  #overflow: Uint8Array | undefined
  #room: (() => void) | undefined
  readonly #taken = (): void => { this.#onTaken() }
  /** Told after each seal (the rekey extension's `afterBytes` trigger); it may add a control packet. */
  readonly #afterSeal: (() => void) | undefined

  constructor (connection: BoxStream, transport: OutboxTransport, afterSeal?: () => void) {
    this.#connection = connection
    this.#transport = transport
    this.#afterSeal = afterSeal
  }

  /**
   * Sealed control packets (the rekey extension's) to go out after everything sealed so far and
   * before anything sealed later: at once when nothing is in flight, else at the end of the batch.
   */
  writeSealed (sealed: Uint8Array): void {
    if (this.#inFlight === 0 && this.#sealedBytes === 0) {
      this.#inFlight++
      this.#transport.write(sealed, undefined, this.#taken)
      return
    }
    // Behind a write in flight, or sealed while a batch is being closed (its tail's seal): the batch takes it.
    const batch = this.#batchWithRoom(sealed.byteLength)
    batch.set(sealed, this.#sealedBytes)
    this.#sealedBytes += sealed.byteLength
  }

  /**
   * Sends `bytes` now, or gathers them behind the write in flight; either way they are used up
   * when this returns. Returns a promise only when the batch is full: `bytes` are then held (the
   * writer must not touch them until it resolves) and start the next batch once the transport
   * took the write before it.
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
    if (this.#pending()) this.#sendGathered()
  }

  /** Plaintext gathered, or control packets sealed into the batch, waiting for the write in flight. */
  #pending (): boolean {
    return this.#gatheredBytes > 0 || this.#sealedBytes > 0
  }

  /** Seals the whole packets `bytes` complete (the tail's first), and copies what is left into the tail. */
  #gather (bytes: Uint8Array): void {
    const length = bytes.byteLength
    this.#gatheredBytes += length
    let used = 0
    if (this.#tailBytes > 0) {
      const tail = this.#tail as Uint8Array
      used = Math.min(MAX_BODY_BYTES - this.#tailBytes, length)
      tail.set(used === length ? bytes : bytes.subarray(0, used), this.#tailBytes)
      this.#tailBytes += used
      if (this.#tailBytes < MAX_BODY_BYTES) return
      this.#seal(tail)
      this.#tailBytes = 0
    }
    const whole = Math.floor((length - used) / MAX_BODY_BYTES) * MAX_BODY_BYTES
    if (whole > 0) {
      this.#seal(bytes.subarray(used, used + whole))
      used += whole
    }
    if (used < length) {
      const tail = this.#tail ??= new Uint8Array(MAX_BODY_BYTES)
      tail.set(bytes.subarray(used), 0)
      this.#tailBytes = length - used
    }
  }

  /** Seals `plaintext` into the batch's buffer, after what is sealed there already. */
  #seal (plaintext: Uint8Array): void {
    const length = BoxStream.sealedLength(plaintext.byteLength)
    const batch = this.#batchWithRoom(length)
    const sealed = this.#connection.send(plaintext, batch.subarray(this.#sealedBytes))
    // Sealed in place, since the buffer has room: nothing to copy.
    if (sealed.buffer !== batch.buffer) batch.set(sealed, this.#sealedBytes)
    this.#sealedBytes += length
    this.#afterSeal?.()
  }

  /** The batch's buffer with room for `length` more sealed bytes. */
  #batchWithRoom (length: number): Uint8Array {
    const needed = this.#sealedBytes + length
    const batch = this.#batch
    if (batch !== undefined && batch.byteLength >= needed) return batch
    if (batch === undefined) {
      const lent = this.#transport.outputBuffer?.(Math.max(needed, BATCH_CAPACITY))
      this.#lent = lent !== undefined && lent.byteLength >= needed
      if (this.#lent) return (this.#batch = lent as Uint8Array)
    }
    // No buffer to borrow, or a batch beyond it (one very large write): a buffer of our own, its
    // size doubling, so a burst of small writes does not pin a whole batch's worth.
    const grown = new Uint8Array(Math.max(needed, 2 * (batch?.byteLength ?? FIRST_BATCH_CAPACITY / 2)))
    if (batch !== undefined) grown.set(batch.subarray(0, this.#sealedBytes))
    this.#batch = grown
    this.#lent = false
    return grown
  }

  #sendGathered (): void {
    if (this.#tailBytes > 0) {
      this.#seal((this.#tail as Uint8Array).subarray(0, this.#tailBytes))
      this.#tailBytes = 0
    }
    const batch = this.#batch as Uint8Array
    const sealed = batch.subarray(0, this.#sealedBytes)
    const lent = this.#lent
    this.#batch = undefined
    this.#lent = false
    this.#sealedBytes = 0
    this.#gatheredBytes = 0
    this.#inFlight++
    this.#transport.write(sealed, lent ? batch : undefined, this.#taken)
  }

  #send (chunks: Uint8Array, length: number): void {
    const transport = this.#transport
    const buffer = transport.outputBuffer?.(BoxStream.sealedLength(length))
    const sealed = this.#connection.send(chunks, buffer)
    this.#inFlight++
    transport.write(sealed, sealed.buffer === buffer?.buffer ? buffer : undefined, this.#taken)
    this.#afterSeal?.()
  }

  #onTaken (): void {
    this.#inFlight--
    // After a teardown nothing more goes out; the waiting writer learns of it from the teardown.
    if (this.#connection.writing !== 'open' || this.#inFlight > 0) return
    if (this.#pending()) this.#sendGathered()
    // Nothing was gathered behind the write just taken: the burst is over, let its tail go.
    else this.#tail = undefined
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
