/**
 * The one seam between the conformance tool and the library's internals: the handshake step
 * functions and raw box-stream packets, so the tool can play peers that are correct, mistaken or
 * hostile one message at a time (sign for the wrong key, replay a message, send a small-order
 * point, seal a packet with a wrong length). Everything else in the tool uses the public API.
 * Kept small on purpose: a port to another core only has to rewrite this file.
 */
import { sodium } from '#crypto-backend'
import { HEADER_BYTES, MAX_BODY_BYTES } from '../../boxstream/constants.ts'
import { incrementNonce } from '../../boxstream/nonce.ts'
import { asKeyPair, asNetworkKey, checkPublicKey } from '../../crypto/keys.ts'
import { HMAC_BYTES, MAC_BYTES, concatBytes, hmac } from '../../crypto/primitives.ts'
import {
  CLIENT_AUTH_BYTES, HELLO_BYTES, type HandshakeState, SERVER_ACCEPT_BYTES,
  acceptClientAuth, acceptHello, acceptServerAccept, createClientAuth, createHandshakeState,
  createHello, createServerAccept, deriveSession, wipeHandshakeState
} from '../../handshake/steps.ts'
import type { KeyPair, SessionKeys } from '../../index.ts'

export { CLIENT_AUTH_BYTES, HELLO_BYTES, HEADER_BYTES, MAX_BODY_BYTES, SERVER_ACCEPT_BYTES }

/**
 * X25519 public keys of small order (and their non-canonical twins): Diffie-Hellman with any of
 * them yields a value the attacker knows. The list is the one libsodium and the RFC 7748 errata
 * block; a peer must refuse them before it computes anything from them.
 */
export const SMALL_ORDER_POINTS: ReadonlyArray<{ readonly name: string, readonly hex: string }> = [
  { name: 'zero', hex: '0000000000000000000000000000000000000000000000000000000000000000' },
  { name: 'one', hex: '0100000000000000000000000000000000000000000000000000000000000000' },
  { name: 'order8a', hex: 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800' },
  { name: 'order8b', hex: '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157' },
  { name: 'p-1', hex: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f' },
  { name: 'p', hex: 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f' },
  { name: 'p+1', hex: 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f' }
]

/** One side of a handshake, driven message by message; each step can be bent by a check. */
export class HandshakeSeam {
  readonly #state: HandshakeState

  private constructor (state: HandshakeState) {
    this.#state = state
  }

  static client (keys: KeyPair, networkKey: Uint8Array, serverKey: Uint8Array): HandshakeSeam {
    const remote = checkPublicKey(serverKey, 'server key')
    return new HandshakeSeam(createHandshakeState({
      local: asKeyPair(keys), networkKey: asNetworkKey(networkKey), remotePublicKey: remote.publicKey, remoteCurveKey: remote.curveKey
    }))
  }

  static server (keys: KeyPair, networkKey: Uint8Array): HandshakeSeam {
    return new HandshakeSeam(createHandshakeState({ local: asKeyPair(keys), networkKey: asNetworkKey(networkKey) }))
  }

  hello (): Uint8Array {
    return createHello(this.#state)
  }

  acceptHello (message: Uint8Array): boolean {
    return message.byteLength === HELLO_BYTES && acceptHello(this.#state, message)
  }

  /** Message 3; `signFor` signs it for another server key while still boxing it for the real one. */
  clientAuth (signFor?: Uint8Array): Uint8Array {
    if (signFor === undefined) return createClientAuth(this.#state)
    const real = this.#state.remotePublicKey
    this.#state.remotePublicKey = checkPublicKey(signFor, 'other server key').publicKey
    const message = createClientAuth(this.#state)
    this.#state.remotePublicKey = real
    return message
  }

  acceptClientAuth (message: Uint8Array): boolean {
    return message.byteLength === CLIENT_AUTH_BYTES && acceptClientAuth(this.#state, message)
  }

  /** Message 4; `signWith` signs it with another key (a server proving an identity it does not have). */
  serverAccept (signWith?: KeyPair): Uint8Array {
    if (signWith === undefined) return createServerAccept(this.#state)
    return createServerAccept({ ...this.#state, local: asKeyPair(signWith) })
  }

  acceptServerAccept (message: Uint8Array): boolean {
    return message.byteLength === SERVER_ACCEPT_BYTES && acceptServerAccept(this.#state, message)
  }

  /** The client's long-term key, once message 3 verified (server side). */
  get remotePublicKey (): Uint8Array | undefined {
    return this.#state.remotePublicKey
  }

  /** The session keys; the handshake's own secrets are wiped, as the library does. */
  session (): SessionKeys {
    const session = deriveSession(this.#state)
    wipeHandshakeState(this.#state)
    return session
  }
}

/** A hello that carries `point` as the ephemeral key, with a valid MAC under `networkKey`. */
export function helloWithPoint (networkKey: Uint8Array, point: Uint8Array): Uint8Array {
  return concatBytes(hmac(networkKey, point), point)
}

export const HELLO_MAC_BYTES = HMAC_BYTES

export interface PacketOptions {
  /** The length written in the header instead of the body's (an oversized announcement). */
  announce?: number
}

/**
 * Seals box-stream packets with explicit control: any length, goodbye, and more packets after
 * goodbye. The library's encoder refuses all three on purpose, which is why the tool has its own.
 */
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

export type Opened =
  | { readonly kind: 'data', readonly plaintext: Uint8Array }
  | { readonly kind: 'goodbye' }
  | { readonly kind: 'bad', readonly reason: string }

/**
 * Opens the peer's packets one at a time. Unlike the library's decoder it accepts a zero-length
 * packet (the reference implementations send and accept them), so that the checks judge the
 * peer by the references' rules, not by this library's stricter ones.
 */
export class PacketOpener {
  readonly #key: Uint8Array
  readonly #nonce: Uint8Array
  #buffer: Buffer = Buffer.alloc(0)
  #pending: { length: number, mac: Uint8Array } | undefined

  constructor (session: SessionKeys) {
    this.#key = Buffer.from(session.decryptKey)
    this.#nonce = Buffer.from(session.decryptNonce)
  }

  /** Every packet `bytes` completes; opening stops at a goodbye or a bad packet. */
  push (bytes: Uint8Array): Opened[] {
    this.#buffer = Buffer.concat([this.#buffer, bytes])
    const opened: Opened[] = []
    for (;;) {
      if (this.#pending === undefined) {
        if (this.#buffer.byteLength < HEADER_BYTES) return opened
        const header = Buffer.alloc(HEADER_BYTES - MAC_BYTES)
        if (!sodium.crypto_secretbox_open_easy(header, this.#buffer.subarray(0, HEADER_BYTES), this.#nonce, this.#key)) {
          opened.push({ kind: 'bad', reason: 'a header failed authentication' })
          return opened
        }
        this.#buffer = this.#buffer.subarray(HEADER_BYTES)
        incrementNonce(this.#nonce)
        if (header.every((byte) => byte === 0)) {
          opened.push({ kind: 'goodbye' })
          return opened
        }
        const length = (header[0] as number) << 8 | (header[1] as number)
        if (length > MAX_BODY_BYTES) {
          opened.push({ kind: 'bad', reason: `a header announced ${length} bytes` })
          return opened
        }
        this.#pending = { length, mac: header.subarray(2) }
      }
      const { length, mac } = this.#pending
      if (this.#buffer.byteLength < length) return opened
      const plaintext = Buffer.alloc(length)
      if (!sodium.crypto_secretbox_open_detached(plaintext, this.#buffer.subarray(0, length), mac, this.#nonce, this.#key)) {
        opened.push({ kind: 'bad', reason: 'a body failed authentication' })
        return opened
      }
      this.#buffer = this.#buffer.subarray(length)
      incrementNonce(this.#nonce)
      this.#pending = undefined
      opened.push({ kind: 'data', plaintext })
    }
  }
}
