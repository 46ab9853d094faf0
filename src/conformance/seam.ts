/**
 * The seam between the conformance suite and the library's internals: the handshake step
 * functions, so the suite can play peers that are correct, mistaken or hostile one message at a
 * time (sign for the wrong key, replay a message, send a small-order point). Box-stream packets
 * have their own seams (packet-sealer.ts, box-reader.ts). Everything else uses the public API.
 */
import { asKeyPair, asNetworkKey, checkPublicKey } from '../crypto/keys.ts'
import type { KeyPair } from '../crypto/keys.ts'
import { HMAC_BYTES, concatBytes, hmac, sealOnce, sha256, sign, verifyHmac } from '../crypto/primitives.ts'
import type { SessionKeys } from '../handshake/session.ts'
import {
  CLIENT_AUTH_BYTES, HELLO_BYTES, type HandshakeState, SERVER_ACCEPT_BYTES,
  acceptClientAuth, acceptHello, acceptServerAccept, createClientAuth, createHandshakeState,
  createHello, createServerAccept, deriveSession, wipeHandshakeState
} from '../handshake/steps.ts'

export { CLIENT_AUTH_BYTES, HELLO_BYTES, SERVER_ACCEPT_BYTES }

/** The size of an X25519 result: what a peer that computes with a small-order point gets, all zeros. */
const SHARED_SECRET_BYTES = 32

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

  /**
   * After a hello whose ephemeral key was a small-order point (so we hold no secret for it), the
   * message 3 an attacker can build from what a peer that computes with the point gets: `ab` and
   * `aB` all zeros. Signed with our real key, so a server that accepts it completes a handshake
   * whose every secret but `Ab` the attacker chose. Undefined if the server hello's MAC is wrong.
   */
  clientAuthFromZeroSecrets (serverHello: Uint8Array): Uint8Array | undefined {
    const state = this.#state
    const mac = serverHello.subarray(0, HMAC_BYTES)
    const ephemeral = serverHello.subarray(HMAC_BYTES, HELLO_BYTES)
    if (serverHello.byteLength !== HELLO_BYTES || !verifyHmac(mac, ephemeral, state.networkKey)) return undefined
    state.remoteHelloMac = Uint8Array.from(mac)
    state.remoteEphemeralKey = Uint8Array.from(ephemeral)
    state.ab = new Uint8Array(SHARED_SECRET_BYTES)
    state.aB = new Uint8Array(SHARED_SECRET_BYTES)
    state.abHash = sha256(state.ab)
    const serverKey = state.remotePublicKey as Uint8Array
    state.clientAuthPayload = concatBytes(sign(concatBytes(state.networkKey, serverKey, state.abHash), state.local.secretKey), state.local.publicKey)
    return sealOnce(sha256(state.networkKey, state.ab, state.aB), state.clientAuthPayload)
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
