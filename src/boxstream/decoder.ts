/**
 * Box-stream decoder: bytes in any fragmentation in, authenticated plaintext out, no I/O. It
 * buffers at most one packet, so a hostile peer cannot make it hold more than 4130 bytes. Any
 * failure is final: the key is wiped and nothing more is ever delivered (docs/PROTOCOL.md, "Box stream").
 *
 * Every plaintext it returns owns exactly its bytes (its own ArrayBuffer, no view into the input
 * or into Node's shared pool), so `chunk.buffer` exposes nothing else and a queue of small
 * plaintexts pins only what it holds.
 */
import { allocOwned, sodium } from '#crypto-backend'
import { BoxStreamError, type ShsErrorCode } from '../errors.ts'
import { MAC_BYTES, wipe } from '../crypto/primitives.ts'
import { KEY_BYTES, NONCE_BYTES, carveState, checkSessionKey } from './keys.ts'
import { CONTROL_FLAG, HEADER_BYTES, HEADER_PLAINTEXT_BYTES, LENGTH_BYTES, MAX_BODY_BYTES, MAX_CONTROL_BODY_BYTES } from './constants.ts'
import { incrementNonce } from './nonce.ts'
import { type PushOptions, ownedPlaintext, zeroedTailView } from './plaintext.ts'

export type { PushOptions } from './plaintext.ts'
import type { NextKey } from './encoder.ts'

const EMPTY = new Uint8Array(0)
/**
 * Every decoder opens its headers here. A header's plaintext (the body's length and MAC) is
 * needed only until its body is opened, which is mostly within the same `push`; a decoder whose
 * body is still on its way keeps the MAC in its own `#savedMac` (see `#keepMac`). So an idle
 * decoder holds nothing but its key and nonce.
 */
const HEADER_PLAINTEXT = new Uint8Array(HEADER_PLAINTEXT_BYTES)
const HEADER_MAC = HEADER_PLAINTEXT.subarray(LENGTH_BYTES)

type DecoderState =
  | { readonly name: 'awaiting-header' }
  /**
   * `mac` is HEADER_MAC while the body is opened in the same push, else the decoder's saved copy;
   * `control`: the body is a control packet of the rekey extension, not data.
   */
  | { readonly name: 'awaiting-body', readonly length: number, readonly mac: Uint8Array, readonly control: boolean }
  | { readonly name: 'ended' }
  | { readonly name: 'failed', readonly error: BoxStreamError }

/** The states without data, shared by every decoder. */
const AWAITING_HEADER: DecoderState = { name: 'awaiting-header' }
const ENDED: DecoderState = { name: 'ended' }

interface DecodeSink {
  readonly output: Uint8Array
  written: number
  readonly reuseInput: boolean
  /** With reuseInput: the plaintext of a body that began in an earlier chunk, opened apart. */
  spilled: Uint8Array | undefined
}

/**
 * Takes each control packet's body as it is opened, before the next packet is: it may change the
 * decoder's key (`rekey`) for what follows. A `BoxStreamError` it throws fails the stream.
 */
export type ControlHandler = (body: Uint8Array) => void

/**
 * As `encoderKeys`, for a decoder's key and next nonce. Test-only.
 * @internal stripped from the published declarations (tsconfig.build.json stripInternal)
 */
export let decoderKeys: (decoder: BoxStreamDecoder) => NextKey

export class BoxStreamDecoder {
  readonly #key: Uint8Array
  readonly #nonce: Uint8Array
  readonly #onControl: ControlHandler | undefined

  /** Bytes of the decoder's state: its key and nonce. */
  static readonly STATE_BYTES = KEY_BYTES + NONCE_BYTES

  static {
    decoderKeys = (decoder) => ({ key: new Uint8Array(decoder.#key), nonce: new Uint8Array(decoder.#nonce) })
  }

  /** A body's MAC kept across pushes while the body arrives; made the first time that happens. */
  #savedMac: Uint8Array | undefined
  /**
   * Holds a packet part that arrived split across pushes. Allocated on the first split, so an
   * idle connection that never saw one costs no 4 KiB buffer.
   */
  #partial: Uint8Array | undefined
  #partialLength = 0
  #packetsOpened = 0
  #state: DecoderState = AWAITING_HEADER

  /**
   * Copies the key and nonce; the copies are wiped when the stream ends or fails. With
   * `onControl` (a session with the rekey extension) headers may announce control packets. The
   * copies go into `state` when given: memory of `STATE_BYTES` that only this decoder uses.
   */
  constructor (key: Uint8Array, nonce: Uint8Array, onControl?: ControlHandler, state?: Uint8Array) {
    checkSessionKey(key, nonce, 'decrypt')
    this.#onControl = onControl
    const [ownKey, ownNonce] = carveState(state, BoxStreamDecoder.STATE_BYTES, [KEY_BYTES, NONCE_BYTES])
    ownKey.set(key)
    ownNonce.set(nonce)
    this.#key = ownKey
    this.#nonce = ownNonce
  }

  /** True once the peer's goodbye has been opened: a clean end of stream. */
  get ended (): boolean {
    return this.#state.name === 'ended'
  }

  /** Bytes held back waiting for the rest of a packet (never more than one packet). */
  get bufferedBytes (): number {
    return this.#partialLength
  }

  /** No packet is half-way in: the input so far ended exactly where a packet did. */
  get betweenPackets (): boolean {
    return this.#state.name === 'awaiting-header' && this.#partialLength === 0
  }

  /** Data packets authenticated so far (goodbye not counted), for metrics. */
  get packetsOpened (): number {
    return this.#packetsOpened
  }

  /** The failure that ended the stream, if any. */
  get error (): BoxStreamError | undefined {
    return this.#state.name === 'failed' ? this.#state.error : undefined
  }

  /**
   * Decodes what `bytes` completes and returns the plaintext of every packet it completed, in
   * order, joined (empty when no packet completed). When a packet fails, the plaintext of the
   * packets before it is still returned (it was authentic) and `error` is set; the failure is
   * thrown at once if there is nothing to return, and by every later call. See `PushOptions`.
   */
  push (bytes: Uint8Array, options?: PushOptions): Uint8Array[] {
    const reuseInput = options?.reuseInput === true
    // Plaintext is never longer than the ciphertext it came from, so one buffer the size of the
    // input holds every body this call opens; it is then copied once into a buffer of its exact
    // size: two allocations per chunk at most (one with reuseInput), not one per packet.
    const output = reuseInput ? bytes : allocOwned(bytes.byteLength + this.#partialLength)
    const sink: DecodeSink = { output, written: 0, reuseInput, spilled: undefined }
    try {
      this.#decodeInto(bytes, sink)
    } catch (err) {
      if ((sink.written === 0 && sink.spilled === undefined) || !(err instanceof BoxStreamError)) throw err
    }
    const plaintexts: Uint8Array[] = []
    if (sink.spilled !== undefined) plaintexts.push(sink.spilled)
    if (sink.written > 0) plaintexts.push(options?.exact === false ? zeroedTailView(output, sink.written) : ownedPlaintext(output, sink.written))
    return plaintexts
  }

  #decodeInto (bytes: Uint8Array, sink: DecodeSink): void {
    let offset = 0
    while (offset < bytes.byteLength) {
      const state = this.#state
      if (state.name === 'failed') throw state.error
      if (state.name === 'ended') {
        throw this.#fail('ERR_BOX_STREAM_AFTER_GOODBYE',
          'bytes arrived after the peer\'s box-stream goodbye: the peer is broken, or someone is injecting data')
      }
      const needed = state.name === 'awaiting-header' ? HEADER_BYTES : state.length
      let packetPart: Uint8Array
      let assembled = false
      if (this.#partialLength === 0 && bytes.byteLength - offset >= needed) {
        packetPart = bytes.subarray(offset, offset + needed)
        offset += needed
      } else {
        assembled = true
        const take = Math.min(needed - this.#partialLength, bytes.byteLength - offset)
        const partial = this.#partial ??= new Uint8Array(HEADER_BYTES + MAX_BODY_BYTES)
        partial.set(bytes.subarray(offset, offset + take), this.#partialLength)
        this.#partialLength += take
        offset += take
        if (this.#partialLength < needed) break
        packetPart = partial.subarray(0, needed)
        this.#partialLength = 0
      }
      if (state.name === 'awaiting-header') {
        this.#openHeader(packetPart)
        // A zero-length packet that is not goodbye: its (empty) body is complete already. The
        // reference (pull-box-stream) and go-secretstream accept it as an empty message.
        const next = this.#state
        if (next.name === 'awaiting-body' && next.length === 0) this.#openBody(EMPTY, EMPTY, next.mac)
      } else if (state.control) {
        this.#openControl(packetPart, state)
      } else if (assembled && sink.reuseInput) {
        // A body that began in an earlier chunk may be longer than what this chunk has used up
        // so far, so opening it over the input could overwrite bytes not yet read. Only the first
        // packet of a chunk can be such a body. Its buffer is not zeroed first: the open either
        // fills all of it or fails, and then the buffer is dropped unread.
        const plaintext = allocOwned(state.length)
        this.#openBody(packetPart, plaintext, state.mac)
        sink.spilled = plaintext
      } else {
        // Over the input this stays behind the read position: every packet read so far was
        // longer than the plaintext written for it (libsodium handles the overlap).
        this.#openBody(packetPart, sink.output.subarray(sink.written, sink.written + state.length), state.mac)
        sink.written += state.length
      }
    }
    if (this.#state.name === 'failed') throw this.#state.error
    this.#keepMac()
  }

  /** The push ends before the body of an opened header: its MAC must outlive the shared scratch. */
  #keepMac (): void {
    const state = this.#state
    if (state.name !== 'awaiting-body' || state.mac !== HEADER_MAC) return
    const saved = this.#savedMac ??= new Uint8Array(MAC_BYTES)
    saved.set(HEADER_MAC)
    this.#state = { name: 'awaiting-body', length: state.length, mac: saved, control: state.control }
  }

  /**
   * The transport has ended. Without a goodbye the stream was cut off, which must not look like
   * a clean end: throws `ERR_BOX_STREAM_TRUNCATED`.
   */
  finish (): void {
    const state = this.#state
    if (state.name === 'ended') return
    if (state.name === 'failed') throw state.error
    throw this.#fail('ERR_BOX_STREAM_TRUNCATED',
      'the connection ended without the box-stream goodbye, so the data may be incomplete: ' +
      'the peer crashed or the network cut the connection')
  }

  /** As `BoxStreamEncoder.updateKey`, for what we receive. */
  updateKey (derive: (key: Uint8Array) => NextKey): void {
    if (this.#state.name === 'failed' || this.#state.name === 'ended') return
    const next = derive(this.#key)
    this.#key.set(next.key)
    this.#nonce.set(next.nonce)
    wipe(next.key, next.nonce)
  }

  /** Stops decoding (the reader gave up) and wipes the key. */
  destroy (): void {
    if (this.#state.name === 'awaiting-header' || this.#state.name === 'awaiting-body') {
      this.#state = { name: 'failed', error: new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the box stream was destroyed') }
    }
    wipe(this.#key, this.#partial)
  }

  #openHeader (sealed: Uint8Array): void {
    const header = HEADER_PLAINTEXT
    if (!sodium.crypto_secretbox_open_easy(header, sealed, this.#nonce, this.#key)) {
      throw this.#fail('ERR_BOX_STREAM_BAD_HEADER',
        'a box-stream header failed authentication: the data was corrupted or tampered with in transit')
    }
    const length = (header[0] as number) << 8 | (header[1] as number)
    // Goodbye is a header of 18 zero bytes; only a zero length can be one.
    if (length === 0 && sodium.sodium_is_zero(header)) {
      this.#state = ENDED
      wipe(this.#key)
      return
    }
    if (this.#onControl !== undefined && (length & CONTROL_FLAG) !== 0) {
      const bodyLength = length & ~CONTROL_FLAG
      if (bodyLength === 0 || bodyLength > MAX_CONTROL_BODY_BYTES) {
        throw this.#fail('ERR_BOX_STREAM_BAD_CONTROL',
          `a rekey control packet announced a body of ${bodyLength} bytes (allowed: 1 to ${MAX_CONTROL_BODY_BYTES}): the peer is broken or hostile`)
      }
      incrementNonce(this.#nonce)
      this.#state = { name: 'awaiting-body', length: bodyLength, mac: HEADER_MAC, control: true }
      return
    }
    if (length > MAX_BODY_BYTES) {
      throw this.#fail('ERR_BOX_STREAM_BAD_LENGTH',
        `a box-stream header announced a body of ${length} bytes (allowed: 0 to ${MAX_BODY_BYTES}): ` +
        'the peer is broken or hostile')
    }
    incrementNonce(this.#nonce)
    this.#state = { name: 'awaiting-body', length, mac: HEADER_MAC, control: false }
  }

  #openBody (sealed: Uint8Array, plaintext: Uint8Array, mac: Uint8Array): void {
    this.#authenticate(sealed, plaintext, mac)
    this.#packetsOpened++
  }

  #authenticate (sealed: Uint8Array, plaintext: Uint8Array, mac: Uint8Array): void {
    if (!sodium.crypto_secretbox_open_detached(plaintext, sealed, mac, this.#nonce, this.#key)) {
      throw this.#fail('ERR_BOX_STREAM_BAD_BODY',
        'a box-stream packet body failed authentication: the data was corrupted or tampered with in transit')
    }
    incrementNonce(this.#nonce)
    this.#state = AWAITING_HEADER
  }

  /** A control packet's body, handed over before anything after it is opened (it may change our key). */
  #openControl (sealed: Uint8Array, state: { readonly length: number, readonly mac: Uint8Array }): void {
    const body = new Uint8Array(state.length)
    this.#authenticate(sealed, body, state.mac)
    try {
      (this.#onControl as ControlHandler)(body)
    } catch (err) {
      if (!(err instanceof BoxStreamError)) throw err
      throw this.#fail(err.code, err.message)
    } finally {
      wipe(body)
    }
  }

  #fail (code: ShsErrorCode, message: string): BoxStreamError {
    const error = new BoxStreamError(code, message)
    this.#state = { name: 'failed', error }
    wipe(this.#key, this.#partial)
    this.#partialLength = 0
    return error
  }
}
