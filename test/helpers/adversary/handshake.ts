/**
 * SHS1 written out step by step from docs/PROTOCOL.md with the raw primitives, independent of src/handshake,
 * so a test can build any message, valid or not.
 */
import sodium from 'sodium-native'
import type { KeyPair, SessionKeys } from '../../../src/index.ts'
import {
  type CurveKeyPair, NONCE_BYTES, concatBytes, diffieHellman, generateCurveKeyPair, hmac, openOnce, sealOnce, sha256, sign,
  verifyHmac, verifySignature
} from '../../../src/crypto/primitives.ts'
import { RawPeer } from './sockets.ts'
import { CLIENT_AUTH_BYTES, HELLO_BYTES, SERVER_ACCEPT_BYTES } from './wire.ts'

export function helloFor (networkKey: Uint8Array, ephemeralPublicKey: Uint8Array): Uint8Array {
  return concatBytes(hmac(networkKey, ephemeralPublicKey), ephemeralPublicKey)
}

/** The peer's ephemeral key from its hello (message 1 or 2), or undefined if the MAC is wrong. */
function helloEphemeral (networkKey: Uint8Array, hello: Uint8Array): Uint8Array | undefined {
  const ephemeral = hello.subarray(32, HELLO_BYTES)
  return verifyHmac(hello.subarray(0, 32), ephemeral, networkKey) ? ephemeral : undefined
}

export function curvePublicKey (edPublicKey: Uint8Array): Uint8Array {
  const curve = new Uint8Array(32)
  sodium.crypto_sign_ed25519_pk_to_curve25519(curve, edPublicKey)
  return curve
}

function curveSecretKey (edSecretKey: Uint8Array): Uint8Array {
  const curve = new Uint8Array(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(curve, edSecretKey)
  return curve
}

function required<T> (value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`test helper used out of order: ${what} is not known yet`)
  return value
}

/** docs/PROTOCOL.md, "Session keys", for whichever side holds `localKey`. */
function sessionFrom (parts: {
  networkKey: Uint8Array
  ab: Uint8Array
  aB: Uint8Array
  Ab: Uint8Array
  localKey: Uint8Array
  remoteKey: Uint8Array
  localHello: Uint8Array
  remoteHello: Uint8Array
}): SessionKeys {
  const secret = sha256(sha256(parts.networkKey, parts.ab, parts.aB, parts.Ab))
  return {
    remotePublicKey: parts.remoteKey,
    encryptKey: sha256(secret, parts.remoteKey),
    encryptNonce: parts.remoteHello.slice(0, NONCE_BYTES),
    decryptKey: sha256(secret, parts.localKey),
    decryptNonce: parts.localHello.slice(0, NONCE_BYTES)
  }
}

/** What both halves of SHS1 hold: the identities, the ephemeral key, both hellos and the three shared secrets. */
abstract class Steps {
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
  readonly ephemeral: CurveKeyPair = generateCurveKeyPair()
  readonly hello: Uint8Array
  /** The other side's hello (message 2 for the client, message 1 for the server). */
  remoteHello?: Uint8Array
  ab?: Uint8Array
  aB?: Uint8Array
  Ab?: Uint8Array

  constructor (keys: KeyPair, networkKey: Uint8Array) {
    this.keys = keys
    this.networkKey = networkKey
    this.hello = helloFor(networkKey, this.ephemeral.publicKey)
  }

  /** Checks the other side's hello and keeps it: its ephemeral key, or undefined if the MAC is wrong. */
  protected takeHello (hello: Uint8Array): Uint8Array | undefined {
    const remoteEphemeral = helloEphemeral(this.networkKey, hello)
    if (remoteEphemeral !== undefined) this.remoteHello = hello.slice()
    return remoteEphemeral
  }

  protected sessionWith (remoteKey: Uint8Array): SessionKeys {
    return sessionFrom({
      networkKey: this.networkKey,
      ab: required(this.ab, 'ab'),
      aB: required(this.aB, 'aB'),
      Ab: required(this.Ab, 'Ab'),
      localKey: this.keys.publicKey,
      remoteKey,
      localHello: this.hello,
      remoteHello: required(this.remoteHello, 'the other side\'s hello')
    })
  }
}

/** The client's half of SHS1, one public step at a time. */
export class ClientSteps extends Steps {
  readonly serverKey: Uint8Array

  constructor (keys: KeyPair, networkKey: Uint8Array, serverKey: Uint8Array) {
    super(keys, networkKey)
    this.serverKey = serverKey
  }

  acceptHello (msg2: Uint8Array): boolean {
    const serverEphemeral = this.takeHello(msg2)
    if (serverEphemeral === undefined) return false
    this.ab = diffieHellman(this.ephemeral.secretKey, serverEphemeral)
    this.aB = diffieHellman(this.ephemeral.secretKey, curvePublicKey(this.serverKey))
    return true
  }

  /** sigA ‖ A_pk, the plaintext of message 3. */
  authPayload (): Uint8Array {
    const signed = concatBytes(this.networkKey, this.serverKey, sha256(required(this.ab, 'ab')))
    return concatBytes(sign(signed, this.keys.secretKey), this.keys.publicKey)
  }

  /** sha256(K ‖ ab ‖ aB), the key of message 3. */
  authKey (): Uint8Array {
    return sha256(this.networkKey, required(this.ab, 'ab'), required(this.aB, 'aB'))
  }

  auth (): Uint8Array {
    return sealOnce(this.authKey(), this.authPayload())
  }

  /** Ab = DH(A, b): known from message 2 on, so the client holds its session keys before message 4. */
  deriveAb (): Uint8Array {
    this.Ab ??= diffieHellman(curveSecretKey(this.keys.secretKey), required(this.remoteHello, 'message 2').subarray(32))
    return this.Ab
  }

  acceptServerAccept (msg4: Uint8Array): boolean {
    const key = sha256(this.networkKey, required(this.ab, 'ab'), required(this.aB, 'aB'), this.deriveAb())
    const signature = openOnce(key, msg4)
    if (signature === undefined) return false
    const signed = concatBytes(this.networkKey, this.authPayload(), sha256(required(this.ab, 'ab')))
    return verifySignature(signature, signed, this.serverKey)
  }

  session (): SessionKeys {
    return this.sessionWith(this.serverKey)
  }
}

/** The server's half of SHS1, one public step at a time. */
export class ServerSteps extends Steps {
  clientKey?: Uint8Array
  clientAuthPayload?: Uint8Array

  acceptHello (msg1: Uint8Array): boolean {
    const clientEphemeral = this.takeHello(msg1)
    if (clientEphemeral === undefined) return false
    this.ab = diffieHellman(this.ephemeral.secretKey, clientEphemeral)
    this.aB = diffieHellman(curveSecretKey(this.keys.secretKey), clientEphemeral)
    return true
  }

  acceptAuth (msg3: Uint8Array): boolean {
    const ab = required(this.ab, 'ab')
    const payload = openOnce(sha256(this.networkKey, ab, required(this.aB, 'aB')), msg3)
    if (payload === undefined) return false
    const clientKey = payload.slice(64)
    const signed = concatBytes(this.networkKey, this.keys.publicKey, sha256(ab))
    if (!verifySignature(payload.subarray(0, 64), signed, clientKey)) return false
    this.clientKey = clientKey
    this.clientAuthPayload = payload
    this.Ab = diffieHellman(this.ephemeral.secretKey, curvePublicKey(clientKey))
    return true
  }

  /** sigB, the plaintext of message 4. */
  acceptPayload (): Uint8Array {
    const signed = concatBytes(this.networkKey, required(this.clientAuthPayload, 'message 3'), sha256(required(this.ab, 'ab')))
    return sign(signed, this.keys.secretKey)
  }

  /** sha256(K ‖ ab ‖ aB ‖ Ab), the key of message 4. */
  acceptKey (): Uint8Array {
    return sha256(this.networkKey, required(this.ab, 'ab'), required(this.aB, 'aB'), required(this.Ab, 'Ab'))
  }

  accept (): Uint8Array {
    return sealOnce(this.acceptKey(), this.acceptPayload())
  }

  session (): SessionKeys {
    return this.sessionWith(required(this.clientKey, 'the client key'))
  }
}

export interface HandRolledConnection {
  peer: RawPeer
  session: SessionKeys
}

/** Messages 1 and 3 from a hand-rolled client (checking message 2 between them): the server now holds the client's identity. */
export async function sendHelloAndAuth (peer: RawPeer, steps: ClientSteps): Promise<void> {
  peer.write(steps.hello)
  const msg2 = await peer.read(HELLO_BYTES)
  if (msg2 === undefined || !steps.acceptHello(msg2)) throw new Error('hand-rolled client: no valid message 2')
  peer.write(steps.auth())
}

/** A client that completes SHS1 by hand over a raw socket and hands over its session keys. */
export async function handRolledClient (port: number, options: { keys: KeyPair, networkKey: Uint8Array, serverKey: Uint8Array }): Promise<HandRolledConnection> {
  const peer = await RawPeer.connect(port)
  const steps = new ClientSteps(options.keys, options.networkKey, options.serverKey)
  await sendHelloAndAuth(peer, steps)
  const msg4 = await peer.read(SERVER_ACCEPT_BYTES)
  if (msg4 === undefined || !steps.acceptServerAccept(msg4)) throw new Error('hand-rolled client: no valid message 4')
  return { peer, session: steps.session() }
}

/** The server side of `handRolledClient`: completes SHS1 by hand on an accepted socket. */
export async function handRolledAccept (peer: RawPeer, keys: KeyPair, networkKey: Uint8Array): Promise<SessionKeys> {
  const steps = new ServerSteps(keys, networkKey)
  const msg1 = await peer.read(HELLO_BYTES)
  if (msg1 === undefined || !steps.acceptHello(msg1)) throw new Error('hand-rolled server: no valid message 1')
  peer.write(steps.hello)
  const msg3 = await peer.read(CLIENT_AUTH_BYTES)
  if (msg3 === undefined || !steps.acceptAuth(msg3)) throw new Error('hand-rolled server: no valid message 3')
  peer.write(steps.accept())
  return steps.session()
}
