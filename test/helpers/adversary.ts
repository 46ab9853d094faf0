/**
 * Tools for playing the hostile peer over real TCP: a raw socket that records every byte it is
 * sent, SHS1 written out step by step from shs1.md with the raw primitives (independent of
 * src/handshake, so a test can build any message, valid or not), a raw server, a relay that
 * flips a bit in transit, and box-stream packet crafting.
 */
import { once } from 'node:events'
import net from 'node:net'
import sodium from 'sodium-native'
import type { ByteDuplex, KeyPair, SessionKeys } from '../../src/index.ts'
import {
  type CurveKeyPair, NONCE_BYTES, concatBytes, diffieHellman, generateCurveKeyPair, hmac, openOnce,
  sealOnce, sha256, sign, verifyHmac, verifySignature
} from '../../src/crypto/primitives.ts'
import { concat } from './bytes.ts'

export const HOST = '127.0.0.1'
export const HELLO_BYTES = 64
export const CLIENT_AUTH_BYTES = 112
export const SERVER_ACCEPT_BYTES = 80
/** 16-byte MAC, then the sealed u16 length and the body's 16-byte MAC. */
export const BOX_HEADER_BYTES = 34
export const BOX_MAX_BODY = 4096
const MAC_BYTES = 16
/** How long a test waits for a peer to hang up before calling it stuck. */
const CLOSE_LIMIT_MS = 5000

/**
 * A raw TCP socket in flowing mode that keeps everything the other side sends, so a test can
 * read exact messages and then check that not one byte more arrived.
 */
export class RawPeer {
  readonly socket: net.Socket
  readonly closed: Promise<void>
  #unread: Uint8Array = new Uint8Array(0)
  #received = 0
  #ended = false
  #wake: () => void = () => {}

  constructor (socket: net.Socket) {
    this.socket = socket
    // The tests judge a peer by what arrived and when the socket closed; a reset (ECONNRESET,
    // EPIPE) from a side that refused us is one of the expected outcomes, not a test failure.
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      this.#received += chunk.byteLength
      this.#unread = concat([this.#unread, chunk])
      this.#wake()
    })
    socket.on('end', () => { this.#ended = true; this.#wake() })
    this.closed = new Promise((resolve) => socket.once('close', () => { this.#ended = true; this.#wake(); resolve() }))
  }

  /**
   * Not half-open: the other side's FIN closes the connection, so `closed` means "it hung up".
   * Our own `socket.end()` still leaves us reading until then.
   */
  static async connect (port: number): Promise<RawPeer> {
    const socket = net.connect({ port, host: HOST })
    const peer = new RawPeer(socket)
    await Promise.race([once(socket, 'connect'), peer.closed.then(() => { throw new Error(`could not connect to port ${port}`) })])
    return peer
  }

  /** Every byte the other side has sent so far. */
  get bytesReceived (): number {
    return this.#received
  }

  /** Exactly `length` bytes, or undefined if the other side ended first. */
  async read (length: number): Promise<Uint8Array | undefined> {
    while (this.#unread.byteLength < length) {
      if (this.#ended) return undefined
      await new Promise<void>((resolve) => { this.#wake = resolve })
    }
    const message = this.#unread.subarray(0, length)
    this.#unread = this.#unread.subarray(length)
    return message
  }

  write (bytes: Uint8Array): void {
    this.socket.write(bytes)
  }

  /** Resolves once the connection is fully closed; throws if that takes longer than `limitMs`. */
  async waitClosed (limitMs = CLOSE_LIMIT_MS): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const limit = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`the other side did not close the connection within ${limitMs} ms`)) }, limitMs)
    })
    try {
      await Promise.race([this.closed, limit])
    } finally {
      clearTimeout(timer)
    }
  }

  destroy (): void {
    this.socket.destroy()
  }
}

/** `hmac_K(pk) ‖ pk`, messages 1 and 2. */
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

/** shs1.md "Session keys", for whichever side holds `localKey`. */
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

/** The client's half of SHS1, one public step at a time. */
export class ClientSteps {
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
  readonly serverKey: Uint8Array
  readonly ephemeral: CurveKeyPair = generateCurveKeyPair()
  readonly hello: Uint8Array
  serverHello?: Uint8Array
  ab?: Uint8Array
  aB?: Uint8Array
  Ab?: Uint8Array

  constructor (keys: KeyPair, networkKey: Uint8Array, serverKey: Uint8Array) {
    this.keys = keys
    this.networkKey = networkKey
    this.serverKey = serverKey
    this.hello = helloFor(networkKey, this.ephemeral.publicKey)
  }

  acceptHello (msg2: Uint8Array): boolean {
    const serverEphemeral = helloEphemeral(this.networkKey, msg2)
    if (serverEphemeral === undefined) return false
    this.serverHello = msg2.slice()
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

  acceptServerAccept (msg4: Uint8Array): boolean {
    const serverEphemeral = required(this.serverHello, 'message 2').subarray(32)
    this.Ab = diffieHellman(curveSecretKey(this.keys.secretKey), serverEphemeral)
    const key = sha256(this.networkKey, required(this.ab, 'ab'), required(this.aB, 'aB'), this.Ab)
    const signature = openOnce(key, msg4)
    if (signature === undefined) return false
    const signed = concatBytes(this.networkKey, this.authPayload(), sha256(required(this.ab, 'ab')))
    return verifySignature(signature, signed, this.serverKey)
  }

  session (): SessionKeys {
    return sessionFrom({
      networkKey: this.networkKey,
      ab: required(this.ab, 'ab'),
      aB: required(this.aB, 'aB'),
      Ab: required(this.Ab, 'Ab'),
      localKey: this.keys.publicKey,
      remoteKey: this.serverKey,
      localHello: this.hello,
      remoteHello: required(this.serverHello, 'message 2')
    })
  }
}

/** The server's half of SHS1, one public step at a time. */
export class ServerSteps {
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
  readonly ephemeral: CurveKeyPair = generateCurveKeyPair()
  readonly hello: Uint8Array
  clientHello?: Uint8Array
  clientKey?: Uint8Array
  clientAuthPayload?: Uint8Array
  ab?: Uint8Array
  aB?: Uint8Array
  Ab?: Uint8Array

  constructor (keys: KeyPair, networkKey: Uint8Array) {
    this.keys = keys
    this.networkKey = networkKey
    this.hello = helloFor(networkKey, this.ephemeral.publicKey)
  }

  acceptHello (msg1: Uint8Array): boolean {
    const clientEphemeral = helloEphemeral(this.networkKey, msg1)
    if (clientEphemeral === undefined) return false
    this.clientHello = msg1.slice()
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
    return sessionFrom({
      networkKey: this.networkKey,
      ab: required(this.ab, 'ab'),
      aB: required(this.aB, 'aB'),
      Ab: required(this.Ab, 'Ab'),
      localKey: this.keys.publicKey,
      remoteKey: required(this.clientKey, 'the client key'),
      localHello: this.hello,
      remoteHello: required(this.clientHello, 'message 1')
    })
  }
}

export interface HandRolledConnection {
  peer: RawPeer
  session: SessionKeys
}

/** A client that completes SHS1 by hand over a raw socket and hands over its session keys. */
export async function handRolledClient (port: number, options: { keys: KeyPair, networkKey: Uint8Array, serverKey: Uint8Array }): Promise<HandRolledConnection> {
  const peer = await RawPeer.connect(port)
  const steps = new ClientSteps(options.keys, options.networkKey, options.serverKey)
  peer.write(steps.hello)
  const msg2 = await peer.read(HELLO_BYTES)
  if (msg2 === undefined || !steps.acceptHello(msg2)) throw new Error('hand-rolled client: no valid message 2')
  peer.write(steps.auth())
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

export interface RawServer {
  port: number
  readonly peers: RawPeer[]
  /** One promise per accepted connection: how its handler ended. */
  readonly handled: Array<Promise<void>>
  close: () => Promise<void>
}

/**
 * A TCP server whose every connection is handled by `handle` over a RawPeer. Not half-open: the
 * peer's FIN closes the connection, so `closed` means "the other side hung up".
 */
export async function rawServer (handle: (peer: RawPeer) => Promise<void>): Promise<RawServer> {
  const peers: RawPeer[] = []
  const handled: Array<Promise<void>> = []
  const server = net.createServer((socket) => {
    const peer = new RawPeer(socket)
    peers.push(peer)
    const done = handle(peer)
    // Awaited by the test that cares; until then a failure must not be an unhandled rejection.
    done.catch(() => {})
    handled.push(done)
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    handled,
    close: async () => {
      for (const peer of peers) peer.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

export interface Relay {
  port: number
  /** Bytes seen so far in each direction. */
  readonly counts: { toServer: number, toClient: number }
  /** Everything relayed in each direction (as sent on, after any tampering). */
  readonly captured: { toServer: Uint8Array[], toClient: Uint8Array[] }
  close: () => Promise<void>
}

/** No tampering: the relay is a pure eavesdropper. */
export const NO_TAMPERING = { direction: 'toServer', offset: -1, mask: 0 } as const

/**
 * A TCP relay in front of `targetPort` that records everything and XORs `mask` into the byte at
 * `offset` of one direction: an eavesdropper, or a man in the middle flipping one bit.
 */
export async function tamperingRelay (targetPort: number, tamper: { direction: 'toServer' | 'toClient', offset: number, mask: number }): Promise<Relay> {
  const sockets = new Set<net.Socket>()
  const counts = { toServer: 0, toClient: 0 }
  const captured: Relay['captured'] = { toServer: [], toClient: [] }
  const forward = (from: net.Socket, to: net.Socket, direction: 'toServer' | 'toClient'): void => {
    from.on('data', (chunk: Buffer) => {
      const start = counts[direction]
      counts[direction] += chunk.byteLength
      const at = tamper.offset - start
      if (direction === tamper.direction && at >= 0 && at < chunk.byteLength) chunk[at] = (chunk[at] as number) ^ tamper.mask
      captured[direction].push(new Uint8Array(chunk))
      to.write(chunk)
    })
    from.on('end', () => to.end())
    from.on('close', () => to.destroy())
  }
  const server = net.createServer({ allowHalfOpen: true }, (inbound) => {
    const outbound = net.connect({ port: targetPort, host: HOST, allowHalfOpen: true })
    for (const socket of [inbound, outbound]) {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      // A reset on one leg is passed on by destroying the other leg ('close' above).
      socket.on('error', () => {})
    }
    forward(inbound, outbound, 'toServer')
    forward(outbound, inbound, 'toClient')
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    counts,
    captured,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** `nonce + steps` as a 24-byte big-endian counter (shs1.md, "Box-stream"). */
export function nonceAt (start: Uint8Array, steps: number): Uint8Array {
  const nonce = start.slice()
  let carry = steps
  for (let i = nonce.length - 1; i >= 0 && carry > 0; i--) {
    const sum = (nonce[i] as number) + carry
    nonce[i] = sum & 0xff
    carry = Math.floor(sum / 256)
  }
  return nonce
}

/**
 * One packet sealed by hand: a header announcing `announced` bytes (whatever that is) with the
 * body's real MAC, then the body. Packet `index` of a stream uses nonces N+2·index and N+2·index+1.
 */
export function craftPacket (session: SessionKeys, index: number, body: Uint8Array, announced = body.byteLength): Uint8Array {
  const bodyNonce = nonceAt(session.encryptNonce, 2 * index + 1)
  const sealedBody = new Uint8Array(body.byteLength)
  const bodyMac = new Uint8Array(MAC_BYTES)
  sodium.crypto_secretbox_detached(sealedBody, bodyMac, body, bodyNonce, session.encryptKey)
  const headerPlaintext = new Uint8Array(2 + MAC_BYTES)
  headerPlaintext[0] = announced >>> 8
  headerPlaintext[1] = announced & 0xff
  headerPlaintext.set(bodyMac, 2)
  return concatBytes(sealHeader(session, index, headerPlaintext), sealedBody)
}

/** A header sealing exactly `plaintext` (18 bytes) with packet `index`'s header nonce. */
export function sealHeader (session: SessionKeys, index: number, plaintext: Uint8Array): Uint8Array {
  const header = new Uint8Array(BOX_HEADER_BYTES)
  sodium.crypto_secretbox_easy(header, plaintext, nonceAt(session.encryptNonce, 2 * index), session.encryptKey)
  return header
}

export interface Drained {
  delivered: Uint8Array
  error: unknown
}

/** Reads a plaintext source to its end: what it delivered, and the error it ended with (if any). */
export async function drain (source: AsyncIterable<Uint8Array>): Promise<Drained> {
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of source) chunks.push(chunk)
  } catch (error) {
    return { delivered: concat(chunks), error }
  }
  return { delivered: concat(chunks), error: undefined }
}

/**
 * A plain it-pipe duplex over a socket, written here rather than borrowed from src/net, so the
 * stream adapters can be driven over real TCP with options `listen` does not take (a signal).
 */
export function socketAsDuplex (socket: net.Socket): ByteDuplex {
  // Failures reach the handshake through the source; an unhandled 'error' would crash mocha.
  socket.on('error', () => {})
  return {
    source: socket,
    sink: async (source: AsyncIterable<Uint8Array>) => {
      for await (const chunk of source) {
        if (!socket.write(chunk)) await once(socket, 'drain')
      }
    },
    abort: () => { socket.destroy() }
  }
}
