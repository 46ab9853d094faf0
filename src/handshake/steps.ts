/**
 * The cryptographic steps of SHS1, one function per message and direction, over a state record
 * that holds everything a handshake has learned so far. Names follow docs/PROTOCOL.md: `K` the network
 * key, `a`/`b` the client's/server's ephemeral keys, `A`/`B` their long-term keys, and the three
 * DH values `ab`, `aB`, `Ab`. Each `accept…` returns false for anything invalid and never throws
 * for peer-controlled input.
 */
import {
  type CheckedKeyPair, type Ed25519PublicKey, type NetworkKey,
  checkPublicKey, toCurvePublicKey, toCurveSecretKey
} from '../crypto/keys.ts'
import {
  type CurveKeyPair, HMAC_BYTES, MAC_BYTES, NONCE_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES,
  concatBytes, copyBytes, diffieHellman, generateCurveKeyPair, hmac, openOnce, sealOnce, sha256, sign,
  verifyHmac, verifySignature, wipe
} from '../crypto/primitives.ts'
import { rekeyNetworkKey } from './rekey-options.ts'
import type { SessionKeys } from './session.ts'

/** Sizes of the four messages (docs/PROTOCOL.md, "The four messages"). */
export const HELLO_BYTES = HMAC_BYTES + PUBLIC_KEY_BYTES
export const CLIENT_AUTH_BYTES = MAC_BYTES + SIGNATURE_BYTES + PUBLIC_KEY_BYTES
export const SERVER_ACCEPT_BYTES = MAC_BYTES + SIGNATURE_BYTES

export interface HandshakeState {
  /** K; a server that accepts the rekey extension switches it to K' when the client's hello is MAC'd with that (docs/REKEY.md). */
  networkKey: NetworkKey
  /** Server only: K', the extension's network key, tried on the client's hello before K. */
  readonly rekeyNetworkKey: NetworkKey | undefined
  /** Server only: whether a plain SHS1 hello (MAC'd with K) is accepted. */
  readonly acceptPlain: boolean
  /** The handshake runs under K', so the session gets the rekey extension. */
  rekey: boolean
  /** Server only: the client's hello was plain SHS1, and this server requires the extension. */
  plainRefused?: boolean
  readonly local: CheckedKeyPair
  /** The Curve25519 form of `local`'s secret key when its owner precomputed it (not ours to wipe). */
  readonly localCurveSecretKey: Uint8Array | undefined
  readonly ephemeral: CurveKeyPair
  /** hmac_K(own ephemeral public key); its first 24 bytes become our decrypt nonce. */
  localHelloMac: Uint8Array
  /** The client knows it from the start; the server learns it from message 3. */
  remotePublicKey?: Ed25519PublicKey
  /** Its Curve25519 form, converted once when the key was checked. */
  remoteCurveKey?: Uint8Array
  remoteEphemeralKey?: Uint8Array
  remoteHelloMac?: Uint8Array
  ab?: Uint8Array
  aB?: Uint8Array
  Ab?: Uint8Array
  /** sha256(ab): both signatures cover it, binding them to this session. */
  abHash?: Uint8Array
  /** sigA ‖ A_pk, the plaintext of message 3, which the server signs again in message 4. */
  clientAuthPayload?: Uint8Array
  /** sha256(K ‖ ab ‖ aB ‖ Ab): message 4's key, and the root of the session keys (hashed once). */
  acceptKey?: Uint8Array
}

export interface HandshakeStateInit {
  networkKey: NetworkKey
  /**
   * Client: run the whole handshake under K' (ask for the extension). Server: also accept
   * clients that do, and with `require`, only them.
   */
  rekey?: { readonly role: 'client' } | { readonly role: 'server', readonly acceptPlain: boolean }
  local: CheckedKeyPair
  localCurveSecretKey?: Uint8Array
  remotePublicKey?: Ed25519PublicKey
  remoteCurveKey?: Uint8Array
  /** Only for replaying recorded vectors: a fresh key pair per handshake is what keeps sessions forward secure. */
  ephemeral?: CurveKeyPair
}

export function createHandshakeState (init: HandshakeStateInit): HandshakeState {
  const ephemeral = init.ephemeral ?? generateCurveKeyPair()
  const rekey = init.rekey
  const networkKey = rekey?.role === 'client' ? rekeyNetworkKey(init.networkKey) : init.networkKey
  const state: HandshakeState = {
    networkKey,
    rekeyNetworkKey: rekey?.role === 'server' ? rekeyNetworkKey(init.networkKey) : undefined,
    acceptPlain: rekey?.role !== 'server' || rekey.acceptPlain,
    rekey: rekey?.role === 'client',
    local: init.local,
    localCurveSecretKey: init.localCurveSecretKey,
    ephemeral,
    localHelloMac: hmac(networkKey, ephemeral.publicKey)
  }
  if (init.remotePublicKey !== undefined) state.remotePublicKey = init.remotePublicKey
  if (init.remoteCurveKey !== undefined) state.remoteCurveKey = init.remoteCurveKey
  return state
}

/** Messages 1 and 2: `hmac_K(eph_pk) ‖ eph_pk`. Proves knowledge of K without revealing it. */
export function createHello (state: HandshakeState): Uint8Array {
  return concatBytes(state.localHelloMac, state.ephemeral.publicKey)
}

export function acceptHello (state: HandshakeState, message: Uint8Array): boolean {
  const mac = message.subarray(0, HMAC_BYTES)
  const ephemeralKey = message.subarray(HMAC_BYTES, HELLO_BYTES)
  if (!verifyHelloMac(state, mac, ephemeralKey)) return false
  const ab = tryDiffieHellman(state.ephemeral.secretKey, ephemeralKey)
  if (ab === undefined) return false
  // One copy of the whole hello (the message may be a view of a socket buffer), two views of it.
  const hello = copyBytes(message)
  state.remoteHelloMac = hello.subarray(0, HMAC_BYTES)
  state.remoteEphemeralKey = hello.subarray(HMAC_BYTES, HELLO_BYTES)
  state.ab = ab
  state.abHash = sha256(ab)
  return true
}

/**
 * The hello's MAC under K, or (a server offering the extension) under K' first: a client that
 * MAC'd with K' asks for the extension, and from here on the handshake runs under K', which the
 * signatures of messages 3 and 4 bind (docs/REKEY.md, "Why it cannot be stripped").
 */
function verifyHelloMac (state: HandshakeState, mac: Uint8Array, ephemeralKey: Uint8Array): boolean {
  const extension = state.rekeyNetworkKey
  if (extension !== undefined && verifyHmac(mac, ephemeralKey, extension)) {
    state.networkKey = extension
    state.rekey = true
    // Our hello answers under the key the client chose.
    state.localHelloMac = hmac(extension, state.ephemeral.publicKey)
    return true
  }
  if (!verifyHmac(mac, ephemeralKey, state.networkKey)) return false
  if (state.acceptPlain) return true
  state.plainRefused = true
  return false
}

/** Message 3 (client): `box(sha256(K ‖ ab ‖ aB), sign_A(K ‖ B_pk ‖ sha256(ab)) ‖ A_pk)`. */
export function createClientAuth (state: HandshakeState): Uint8Array {
  const { networkKey, local } = state
  const serverKey = required(state.remotePublicKey)
  state.remoteCurveKey ??= toCurvePublicKey(serverKey)
  state.aB = diffieHellman(state.ephemeral.secretKey, state.remoteCurveKey)
  const signed = concatBytes(networkKey, serverKey, required(state.abHash))
  const signature = sign(signed, local.secretKey)
  state.clientAuthPayload = concatBytes(signature, local.publicKey)
  const boxKey = sha256(networkKey, required(state.ab), state.aB)
  const message = sealOnce(boxKey, state.clientAuthPayload)
  wipe(boxKey, signed, signature)
  return message
}

/** Message 3 (server): open it, check the client's signature, and learn who the client is. */
export function acceptClientAuth (state: HandshakeState, message: Uint8Array): boolean {
  const { networkKey, local } = state
  const aB = dhWithLongTermKey(state)
  if (aB === undefined) return false
  state.aB = aB
  const boxKey = sha256(networkKey, required(state.ab), aB)
  const payload = openOnce(boxKey, message)
  wipe(boxKey)
  if (payload === undefined) return false

  const signature = payload.subarray(0, SIGNATURE_BYTES)
  const clientKey = payload.subarray(SIGNATURE_BYTES)
  const signed = concatBytes(networkKey, local.publicKey, required(state.abHash))
  const valid = verifySignature(signature, signed, clientKey)
  wipe(signed)
  if (!valid) return false

  let remote: ReturnType<typeof checkPublicKey>
  try {
    remote = checkPublicKey(copyBytes(clientKey), 'client public key')
  } catch {
    return false
  }
  const Ab = tryDiffieHellman(state.ephemeral.secretKey, remote.curveKey)
  if (Ab === undefined) return false
  state.remotePublicKey = remote.publicKey
  state.remoteCurveKey = remote.curveKey
  state.clientAuthPayload = payload
  state.Ab = Ab
  return true
}

/** Message 4 (server): `box(sha256(K ‖ ab ‖ aB ‖ Ab), sign_B(K ‖ sigA ‖ A_pk ‖ sha256(ab)))`. */
export function createServerAccept (state: HandshakeState): Uint8Array {
  const signed = concatBytes(state.networkKey, required(state.clientAuthPayload), required(state.abHash))
  const signature = sign(signed, state.local.secretKey)
  const message = sealOnce(acceptBoxKey(state), signature)
  wipe(signed, signature)
  return message
}

/** Message 4 (client): proves the server holds B's secret key and saw our message 3. */
export function acceptServerAccept (state: HandshakeState, message: Uint8Array): boolean {
  // Computed already if early data went behind message 3.
  const Ab = state.Ab ?? dhWithLongTermKey(state)
  if (Ab === undefined) return false
  state.Ab = Ab
  const signature = openOnce(acceptBoxKey(state), message)
  if (signature === undefined) return false
  const signed = concatBytes(state.networkKey, required(state.clientAuthPayload), required(state.abHash))
  const valid = verifySignature(signature, signed, required(state.remotePublicKey))
  wipe(signed, signature)
  return valid
}

/**
 * docs/PROTOCOL.md, "Session keys": both directions get their own key (hashed with the receiver's public
 * key) and their own starting nonce (from the receiver's hello MAC).
 */
export function deriveSession (state: HandshakeState): SessionKeys {
  const remotePublicKey = required(state.remotePublicKey)
  const secret = sha256(acceptBoxKey(state))
  const session: SessionKeys = {
    remotePublicKey: copyBytes(remotePublicKey),
    encryptKey: sha256(secret, remotePublicKey),
    encryptNonce: copyBytes(required(state.remoteHelloMac).subarray(0, NONCE_BYTES)),
    decryptKey: sha256(secret, state.local.publicKey),
    decryptNonce: copyBytes(state.localHelloMac.subarray(0, NONCE_BYTES))
  }
  wipe(secret)
  return session
}

/**
 * The client's session keys as soon as it wrote message 3, for early data: it knows `Ab` already
 * (its long-term key with the server's ephemeral one), so nothing it needs is missing.
 */
export function earlySession (state: HandshakeState): SessionKeys {
  state.Ab ??= dhWithLongTermKey(state)
  return deriveSession(state)
}

/** The one place where a handshake's secrets are destroyed, whatever way it ended. */
export function wipeHandshakeState (state: HandshakeState): void {
  wipe(state.ephemeral.secretKey, state.ab, state.aB, state.Ab, state.abHash, state.clientAuthPayload, state.acceptKey)
}

/** sha256(K ‖ ab ‖ aB ‖ Ab): the key of message 4, and the root of the session keys; the state keeps (and wipes) it. */
function acceptBoxKey (state: HandshakeState): Uint8Array {
  state.acceptKey ??= sha256(state.networkKey, required(state.ab), required(state.aB), required(state.Ab))
  return state.acceptKey
}

/** DH of our long-term key with the peer's ephemeral key (aB on the server, Ab on the client). */
function dhWithLongTermKey (state: HandshakeState): Uint8Array | undefined {
  const precomputed = state.localCurveSecretKey
  const curveSecret = precomputed ?? toCurveSecretKey(state.local)
  const shared = tryDiffieHellman(curveSecret, required(state.remoteEphemeralKey))
  if (precomputed === undefined) wipe(curveSecret)
  return shared
}

function tryDiffieHellman (secret: Uint8Array, remote: Uint8Array): Uint8Array | undefined {
  try {
    return diffieHellman(secret, remote)
  } catch {
    return undefined
  }
}

/** The step table guarantees ordering; reaching a missing value is a bug in this library. */
function required<T> (value: T | undefined): T {
  if (value === undefined) throw new Error('shs-transport internal error: handshake step run out of order')
  return value
}
