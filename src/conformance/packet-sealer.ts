/**
 * Seals box-stream packets with explicit control: any length, goodbye, and more packets after
 * goodbye. The library's encoder refuses all three on purpose, which is why the suite has its own.
 */
import { sodium } from '#crypto-backend'
import { CONTROL_FLAG, HEADER_BYTES, MAX_BODY_BYTES } from '../boxstream/constants.ts'
import { incrementNonce } from '../boxstream/nonce.ts'
import { MAC_BYTES } from '../crypto/primitives.ts'
import type { NextKeys } from '../connection/rekey-schedule.ts'
import type { SessionKeys } from '../handshake/session.ts'

export interface PacketOptions {
  /** The length written in the header instead of the body's (an oversized announcement). */
  readonly announce?: number
}

export class PacketSealer {
  readonly #key: Uint8Array
  readonly #nonce: Uint8Array

  constructor (session: SessionKeys) {
    this.#key = Buffer.from(session.encryptKey)
    this.#nonce = Buffer.from(session.encryptNonce)
  }

  /** One packet per call, however long `body` is (up to 65535 bytes). */
  packet (body: Uint8Array, options: PacketOptions = {}): Uint8Array {
    const length = options.announce ?? body.byteLength
    const headerNonce = Buffer.from(this.#nonce)
    incrementNonce(this.#nonce)
    const bodyNonce = Buffer.from(this.#nonce)
    incrementNonce(this.#nonce)
    const sealedBody = Buffer.alloc(body.byteLength)
    const bodyMac = Buffer.alloc(MAC_BYTES)
    sodium.crypto_secretbox_detached(sealedBody, bodyMac, body, bodyNonce, this.#key)
    const header = Buffer.concat([Buffer.from([length >>> 8 & 0xff, length & 0xff]), bodyMac])
    const sealedHeader = Buffer.alloc(HEADER_BYTES)
    sodium.crypto_secretbox_easy(sealedHeader, header, headerNonce, this.#key)
    return Buffer.concat([sealedHeader, sealedBody])
  }

  /** A rekey control packet (docs/REKEY.md, "Packets"); `announce` still bends the length it claims. */
  control (body: Uint8Array, announce = body.byteLength): Uint8Array {
    return this.packet(body, { announce: CONTROL_FLAG | announce })
  }

  /** Goes on under the next key and first nonce that `derive` makes from the current key (a rekey). */
  rekey (derive: (key: Uint8Array) => NextKeys): void {
    const next = derive(this.#key)
    this.#key.set(next.key)
    this.#nonce.set(next.nonce)
  }

  /** Packets of at most 4096 bytes each, as a correct encoder splits them. */
  data (bytes: Uint8Array): Uint8Array {
    const parts: Uint8Array[] = []
    for (let offset = 0; offset < bytes.byteLength; offset += MAX_BODY_BYTES) {
      parts.push(this.packet(bytes.subarray(offset, offset + MAX_BODY_BYTES)))
    }
    return Buffer.concat(parts)
  }

  /**
   * The goodbye header (18 zero bytes sealed). The nonce moves on by one, as it does after any
   * header, so a packet sealed after it is exactly what a decoder that read past the goodbye
   * would accept: the bytes-after-goodbye check needs nothing less.
   */
  goodbye (): Uint8Array {
    const sealed = Buffer.alloc(HEADER_BYTES)
    sodium.crypto_secretbox_easy(sealed, Buffer.alloc(HEADER_BYTES - MAC_BYTES), this.#nonce, this.#key)
    incrementNonce(this.#nonce)
    return sealed
  }
}
