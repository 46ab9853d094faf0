/**
 * Box-stream encoder: plaintext in, sealed packets out, no I/O. Each call seals everything it is
 * given into one output buffer, so an adapter can hand the transport one write per batch.
 */
import { allocUnsafe, sodium } from '#crypto-backend'
import { BoxStreamError } from '../errors.ts'
import { wipe } from '../crypto/primitives.ts'
import { KEY_BYTES, NONCE_BYTES, carveState, checkSessionKey } from './keys.ts'
import { CONTROL_FLAG, HEADER_BYTES, HEADER_PLAINTEXT_BYTES, LENGTH_BYTES, MAX_BODY_BYTES, MAX_CONTROL_BODY_BYTES } from './constants.ts'
import { PACKET_NONCE_STEPS, advanceNonce, incrementNonce } from './nonce.ts'

const EMPTY = new Uint8Array(0)

/** A direction's next key and first nonce (the rekey extension's, docs/REKEY.md). */
export interface NextKey { readonly key: Uint8Array, readonly nonce: Uint8Array }
/**
 * Every encoder builds its headers here: a header's plaintext (the body's length and MAC, never
 * a secret) lives only within one synchronous `#sealPacket`, so one scratch serves them all and
 * an encoder keeps nothing but its key and nonces.
 */
const HEADER_PLAINTEXT = new Uint8Array(HEADER_PLAINTEXT_BYTES)
const HEADER_MAC = HEADER_PLAINTEXT.subarray(LENGTH_BYTES)

/**
 * Copies of an encoder's key and next header nonce. Test-only (src/connection/testing.ts: the
 * rekey property test takes a live connection's keys); not reachable from the package.
 * @internal stripped from the published declarations (tsconfig.build.json stripInternal)
 */
export let encoderKeys: (encoder: BoxStreamEncoder) => NextKey

export class BoxStreamEncoder {
  readonly #key: Uint8Array
  readonly #headerNonce: Uint8Array
  readonly #bodyNonce: Uint8Array
  #ended = false

  /** Bytes of the encoder's state: its key, header nonce and body nonce. */
  static readonly STATE_BYTES = KEY_BYTES + 2 * NONCE_BYTES

  static {
    encoderKeys = (encoder) => ({ key: new Uint8Array(encoder.#key), nonce: new Uint8Array(encoder.#headerNonce) })
  }

  /**
   * Copies the key and nonce; `destroy()` or `goodbye()` wipes the copies. They go into `state`
   * when given: memory of `STATE_BYTES` that only this encoder uses (a connection keeps
   * both codecs' state in one allocation: docs/PERFORMANCE.md, "Scale").
   */
  constructor (key: Uint8Array, nonce: Uint8Array, state?: Uint8Array) {
    checkSessionKey(key, nonce, 'encrypt')
    const [ownKey, headerNonce, bodyNonce] = carveState(state, BoxStreamEncoder.STATE_BYTES, [KEY_BYTES, NONCE_BYTES, NONCE_BYTES])
    ownKey.set(key)
    headerNonce.set(nonce)
    bodyNonce.set(nonce)
    incrementNonce(bodyNonce)
    this.#key = ownKey
    this.#headerNonce = headerNonce
    this.#bodyNonce = bodyNonce
  }

  get ended (): boolean {
    return this.#ended
  }

  /** How many bytes `encode` produces for `plaintextBytes` of input. */
  static sealedLength (plaintextBytes: number): number {
    return plaintextBytes + Math.ceil(plaintextBytes / MAX_BODY_BYTES) * HEADER_BYTES
  }

  /**
   * Seals the chunks as one stream of bytes: small chunks are coalesced into full packets and
   * long ones split at 4096 bytes. Empty input produces no packet. The packets are written into
   * `output` when it is given and large enough (a buffer the caller reuses), else into a new one.
   */
  encode (chunks: Uint8Array | readonly Uint8Array[], output?: Uint8Array): Uint8Array {
    if (this.#ended) {
      throw new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'cannot write to a box stream after it sent goodbye (or was destroyed)')
    }
    const list = chunks instanceof Uint8Array ? [chunks] : chunks
    let total = 0
    for (const chunk of list) total += chunk.byteLength
    if (total === 0) return EMPTY

    const sealedLength = BoxStreamEncoder.sealedLength(total)
    // Every byte of the output is written below, so it need not be zeroed first.
    const sealed = output !== undefined && output.byteLength >= sealedLength
      ? output.subarray(0, sealedLength)
      : allocUnsafe(sealedLength)
    let chunkIndex = 0
    let chunkOffset = 0
    let outputOffset = 0
    for (let remaining = total; remaining > 0;) {
      const length = Math.min(MAX_BODY_BYTES, remaining)
      const bodyStart = outputOffset + HEADER_BYTES
      const chunk = list[chunkIndex] as Uint8Array
      let body: Uint8Array
      if (chunk.byteLength - chunkOffset >= length) {
        body = chunk.subarray(chunkOffset, chunkOffset + length)
        chunkOffset += length
      } else {
        // The body spans several chunks: gather it where its ciphertext goes and seal in place.
        body = sealed.subarray(bodyStart, bodyStart + length)
        let filled = 0
        while (filled < length) {
          const current = list[chunkIndex] as Uint8Array
          const take = Math.min(length - filled, current.byteLength - chunkOffset)
          // A small write that fits whole is copied as it is: no view to allocate per write.
          body.set(take === current.byteLength ? current : current.subarray(chunkOffset, chunkOffset + take), filled)
          filled += take
          chunkOffset += take
          if (chunkOffset === current.byteLength) { chunkIndex++; chunkOffset = 0 }
        }
      }
      while (chunkIndex < list.length && chunkOffset === (list[chunkIndex] as Uint8Array).byteLength) {
        chunkIndex++
        chunkOffset = 0
      }
      this.#sealPacket(sealed, outputOffset, body)
      outputOffset = bodyStart + length
      remaining -= length
    }
    return sealed
  }

  /** The end-of-stream marker: a header sealing 18 zero bytes. Wipes the key afterwards. */
  goodbye (): Uint8Array {
    if (this.#ended) {
      throw new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'goodbye was already sent on this box stream')
    }
    const packet = new Uint8Array(HEADER_BYTES)
    sodium.crypto_secretbox_easy(packet, new Uint8Array(HEADER_PLAINTEXT_BYTES), this.#headerNonce, this.#key)
    this.destroy()
    return packet
  }

  /** A control packet of the rekey extension (docs/REKEY.md, "Packets"): its length carries CONTROL_FLAG. */
  sealControl (body: Uint8Array): Uint8Array {
    if (this.#ended) {
      throw new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'cannot write to a box stream after it sent goodbye (or was destroyed)')
    }
    if (body.byteLength === 0 || body.byteLength > MAX_CONTROL_BODY_BYTES) throw new RangeError(`a control body is 1 to ${MAX_CONTROL_BODY_BYTES} bytes, got ${body.byteLength}`)
    const packet = allocUnsafe(HEADER_BYTES + body.byteLength)
    this.#sealPacket(packet, 0, body, CONTROL_FLAG)
    return packet
  }

  /**
   * Goes on with the key and first nonce `derive` makes from the current key, written over the
   * old ones; `derive`'s result is wiped (docs/REKEY.md, "Key schedule").
   */
  updateKey (derive: (key: Uint8Array) => NextKey): void {
    if (this.#ended) return
    const next = derive(this.#key)
    this.#key.set(next.key)
    this.#headerNonce.set(next.nonce)
    this.#bodyNonce.set(next.nonce)
    incrementNonce(this.#bodyNonce)
    wipe(next.key, next.nonce)
  }

  /** Ends the encoder without goodbye (the peer will see a truncated stream) and wipes the key. */
  destroy (): void {
    this.#ended = true
    wipe(this.#key)
  }

  /** Header with nonce N, body with N+1 (the body's MAC travels inside the header). */
  #sealPacket (output: Uint8Array, offset: number, body: Uint8Array, flags = 0): void {
    const length = body.byteLength
    const header = HEADER_PLAINTEXT
    header[0] = (length | flags) >>> 8
    header[1] = length & 0xff
    const bodyStart = offset + HEADER_BYTES
    sodium.crypto_secretbox_detached(output.subarray(bodyStart, bodyStart + length), HEADER_MAC, body, this.#bodyNonce, this.#key)
    sodium.crypto_secretbox_easy(output.subarray(offset, bodyStart), header, this.#headerNonce, this.#key)
    advanceNonce(this.#headerNonce, PACKET_NONCE_STEPS)
    advanceNonce(this.#bodyNonce, PACKET_NONCE_STEPS)
  }
}
