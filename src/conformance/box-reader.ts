/**
 * How the suite reads the peer's box stream: bytes in, opened packets out, with no I/O (the
 * channel feeds it). Behind this small interface so that it can move onto the library's own
 * sans-IO connection machine without touching a check.
 *
 * Unlike the library's decoder it accepts a zero-length packet (the reference implementations
 * send and accept them), so that the checks judge the peer by the references' rules, not by this
 * library's stricter ones. It holds at most one partial packet besides the chunk it was given.
 */
import { sodium } from '#crypto-backend'
import { HEADER_BYTES, MAX_BODY_BYTES } from '../boxstream/constants.ts'
import { incrementNonce } from '../boxstream/nonce.ts'
import { MAC_BYTES } from '../crypto/primitives.ts'
import type { SessionKeys } from '../handshake/session.ts'

export type Opened =
  | { readonly kind: 'data', readonly plaintext: Uint8Array }
  | { readonly kind: 'goodbye' }
  | { readonly kind: 'bad', readonly reason: string }

export interface PacketReader {
  /** Every packet `bytes` completes; opening stops for good at a goodbye or a bad packet. */
  push: (bytes: Uint8Array) => Opened[]
}

export function createPacketReader (session: SessionKeys): PacketReader {
  return new PacketOpener(session)
}

class PacketOpener implements PacketReader {
  readonly #key: Uint8Array
  readonly #nonce: Uint8Array
  #buffer: Buffer = Buffer.alloc(0)
  #pending: { length: number, mac: Uint8Array } | undefined
  #done = false

  constructor (session: SessionKeys) {
    this.#key = Buffer.from(session.decryptKey)
    this.#nonce = Buffer.from(session.decryptNonce)
  }

  push (bytes: Uint8Array): Opened[] {
    if (this.#done) return []
    this.#buffer = this.#buffer.byteLength === 0 ? Buffer.from(bytes) : Buffer.concat([this.#buffer, bytes])
    const opened: Opened[] = []
    for (;;) {
      const next = this.#next()
      if (next === undefined) return opened
      opened.push(next)
      if (next.kind !== 'data') {
        this.#done = true
        this.#buffer = Buffer.alloc(0)
        return opened
      }
    }
  }

  /** The next whole packet in the buffer, or undefined until more bytes come. */
  #next (): Opened | undefined {
    if (this.#pending === undefined) {
      if (this.#buffer.byteLength < HEADER_BYTES) return undefined
      const header = Buffer.alloc(HEADER_BYTES - MAC_BYTES)
      if (!sodium.crypto_secretbox_open_easy(header, this.#buffer.subarray(0, HEADER_BYTES), this.#nonce, this.#key)) {
        return { kind: 'bad', reason: 'a header failed authentication' }
      }
      this.#buffer = this.#buffer.subarray(HEADER_BYTES)
      incrementNonce(this.#nonce)
      if (header.every((byte) => byte === 0)) return { kind: 'goodbye' }
      const length = (header[0] as number) << 8 | (header[1] as number)
      if (length > MAX_BODY_BYTES) return { kind: 'bad', reason: `a header announced ${length} bytes` }
      this.#pending = { length, mac: header.subarray(2) }
    }
    const { length, mac } = this.#pending
    if (this.#buffer.byteLength < length) return undefined
    const plaintext = Buffer.alloc(length)
    if (!sodium.crypto_secretbox_open_detached(plaintext, this.#buffer.subarray(0, length), mac, this.#nonce, this.#key)) {
      return { kind: 'bad', reason: 'a body failed authentication' }
    }
    this.#buffer = this.#buffer.subarray(length)
    incrementNonce(this.#nonce)
    this.#pending = undefined
    return { kind: 'data', plaintext }
  }
}
