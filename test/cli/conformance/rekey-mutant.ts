/**
 * A deliberately broken peer with the rekey extension, for the rk.* part of the mutant gallery:
 *   node rekey-mutant.ts server|client [FLAW...]
 * It runs the handshake under K' with the library's sans-IO steps, then a box stream of its own
 * with the extension's rekeys (docs/REKEY.md), so that each FLAW bends exactly one rule of them.
 * Without a flaw it is a correct echo server or netcat-like client that also starts a rekey of
 * its own after each MiB it sent (the gallery's baseline passes every rk check with it).
 */
import net from 'node:net'
import sodium from 'sodium-native'
import { incrementNonce } from '../../../src/boxstream/nonce.ts'
import { type NextKeys, REQUEST, RESPONSE, SWITCH, controlBody, nextKeys, parseControl } from '../../../src/connection/rekey-schedule.ts'
import { checkPublicKey } from '../../../src/crypto/keys.ts'
import { type CurveKeyPair, diffieHellman, generateCurveKeyPair } from '../../../src/crypto/primitives.ts'
import {
  CLIENT_AUTH_BYTES, HELLO_BYTES, SERVER_ACCEPT_BYTES, acceptClientAuth, acceptHello, acceptServerAccept,
  createClientAuth, createHandshakeState, createHello, createServerAccept, deriveSession
} from '../../../src/handshake/steps.ts'
import { Reader, env, identity, start } from './mutant-io.ts'

const FLAWS = [
  // Answers a REQUEST but keeps both its keys.
  'never-switch',
  // Answers a REQUEST, then seals one more packet under its old key before it switches.
  'switch-late',
  // Answers every REQUEST with the same key pair.
  'reuse-ephemeral',
  // Opens control bodies without checking their MAC, so it answers a tampered REQUEST.
  'accept-unauthenticated'
] as const
type Flaw = typeof FLAWS[number]

const [role, ...flawNames] = process.argv.slice(2)
const unknown = flawNames.filter((name) => !(FLAWS as readonly string[]).includes(name))
if (unknown.length > 0) throw new Error(`unknown flaw ${unknown.join(', ')}; known: ${FLAWS.join(', ')}`)
const has = (flaw: Flaw): boolean => flawNames.includes(flaw)
const HEADER_BYTES = 34
const MAC_BYTES = 16
const MAX_BODY_BYTES = 4096
const CONTROL_FLAG = 0x8000
/** Its own rekeys: one after each MiB sent, the extension's smallest afterBytes. */
const REKEY_AFTER_BYTES = 1024 * 1024

const { keys, networkKey } = identity()
const sending = role === 'client' ? 'client-to-server' : 'server-to-client'
const receiving = role === 'client' ? 'server-to-client' : 'client-to-server'

/** The peer broke a rule: the connection ends. */
class Violation extends Error {}

/** One direction's key and next nonce. */
class Keys {
  readonly key: Buffer
  readonly nonce: Buffer
  constructor (key: Uint8Array, nonce: Uint8Array) {
    this.key = Buffer.from(key)
    this.nonce = Buffer.from(nonce)
  }

  next (): Buffer {
    const nonce = Buffer.from(this.nonce)
    incrementNonce(this.nonce)
    return nonce
  }

  rekey (derive: (key: Uint8Array) => NextKeys): void {
    const next = derive(this.key)
    this.key.set(next.key)
    this.nonce.set(next.nonce)
  }
}

/** The raw XSalsa20 keystream under secretbox; the project's typings leave it out on purpose. */
const xsalsa20 = (sodium as unknown as { crypto_stream: (out: Uint8Array, nonce: Uint8Array, key: Uint8Array) => void }).crypto_stream

type Rekey =
  | { readonly name: 'idle' }
  | { readonly name: 'requested', readonly ephemeral: CurveKeyPair }
  | { readonly name: 'responded', readonly derive: (direction: typeof sending | typeof receiving) => (key: Uint8Array) => NextKeys }

/** The box stream with the extension: what the socket gets, and what the peer's packets do. */
class Session {
  readonly #socket: net.Socket
  readonly #out: Keys
  readonly #in: Keys
  #rekey: Rekey = { name: 'idle' }
  #sentSinceSwitch = 0
  /** switch-late: the new sending key, applied after one more packet. */
  #late: ((key: Uint8Array) => NextKeys) | undefined
  #fixed: CurveKeyPair | undefined
  closed = false

  constructor (socket: net.Socket, session: ReturnType<typeof deriveSession>) {
    this.#socket = socket
    this.#out = new Keys(session.encryptKey, session.encryptNonce)
    this.#in = new Keys(session.decryptKey, session.decryptNonce)
  }

  #seal (body: Uint8Array, flags = 0): void {
    const headerNonce = this.#out.next()
    const bodyNonce = this.#out.next()
    const sealed = Buffer.alloc(body.byteLength)
    const mac = Buffer.alloc(MAC_BYTES)
    sodium.crypto_secretbox_detached(sealed, mac, body, bodyNonce, this.#out.key)
    const header = Buffer.alloc(HEADER_BYTES)
    sodium.crypto_secretbox_easy(header, Buffer.concat([Buffer.from([(flags | body.byteLength) >> 8, body.byteLength & 0xff]), mac]), headerNonce, this.#out.key)
    this.#socket.write(Buffer.concat([header, sealed]))
    if (this.#late !== undefined && (flags & CONTROL_FLAG) === 0) {
      this.#out.rekey(this.#late)
      this.#late = undefined
    }
  }

  data (bytes: Uint8Array): void {
    for (let offset = 0; offset < bytes.byteLength; offset += MAX_BODY_BYTES) this.#seal(bytes.subarray(offset, offset + MAX_BODY_BYTES))
    this.#sentSinceSwitch += bytes.byteLength
    if (this.#sentSinceSwitch >= REKEY_AFTER_BYTES && this.#rekey.name === 'idle') {
      const ephemeral = this.#ephemeral()
      this.#seal(controlBody(REQUEST, ephemeral.publicKey), CONTROL_FLAG)
      this.#rekey = { name: 'requested', ephemeral }
    }
  }

  goodbye (): void {
    const header = Buffer.alloc(HEADER_BYTES)
    sodium.crypto_secretbox_easy(header, Buffer.alloc(HEADER_BYTES - MAC_BYTES), this.#out.next(), this.#out.key)
    this.#socket.write(header)
    this.closed = true
  }

  #ephemeral (): CurveKeyPair {
    if (!has('reuse-ephemeral')) return generateCurveKeyPair()
    this.#fixed ??= generateCurveKeyPair()
    return { publicKey: this.#fixed.publicKey, secretKey: Buffer.from(this.#fixed.secretKey) }
  }

  /** The peer's packets, data yielded, control acted on before the next is read; returns at its goodbye. */
  async * packets (reader: Reader): AsyncGenerator<Buffer> {
    for (;;) {
      const header = Buffer.alloc(HEADER_BYTES - MAC_BYTES)
      if (!sodium.crypto_secretbox_open_easy(header, await exactly(reader, HEADER_BYTES), this.#in.next(), this.#in.key)) throw new Violation('bad header')
      if (header.every((byte) => byte === 0)) return
      const announced = header.readUInt16BE(0)
      const control = (announced & CONTROL_FLAG) !== 0
      const length = announced & ~CONTROL_FLAG
      if (length > MAX_BODY_BYTES) throw new Violation('oversized')
      const sealed = await exactly(reader, length)
      const body = Buffer.alloc(length)
      const nonce = this.#in.next()
      if (control && has('accept-unauthenticated')) {
        const stream = Buffer.alloc(32 + length)
        xsalsa20(stream, nonce, this.#in.key)
        for (let i = 0; i < length; i++) body[i] = (sealed[i] as number) ^ (stream[32 + i] as number)
      } else if (!sodium.crypto_secretbox_open_detached(body, sealed, header.subarray(2), nonce, this.#in.key)) throw new Violation('bad body')
      if (control) this.#control(body)
      else yield body
    }
  }

  #control (body: Uint8Array): void {
    let message
    try {
      message = parseControl(body)
    } catch (err) {
      throw new Violation(`bad control packet: ${String(err)}`)
    }
    const state = this.#rekey
    if (message.type === REQUEST) {
      if (state.name === 'responded') throw new Violation('request during a rekey')
      if (state.name === 'requested' && role === 'client') return
      if (this.closed) return
      const initiatorKey = message.publicKey
      const ephemeral = this.#ephemeral()
      const shared = agree(ephemeral.secretKey, initiatorKey)
      const derive = (direction: typeof sending | typeof receiving) => (key: Uint8Array) => nextKeys(direction, key, shared, initiatorKey, ephemeral.publicKey)
      this.#seal(controlBody(RESPONSE, ephemeral.publicKey), CONTROL_FLAG)
      if (has('switch-late')) this.#late = derive(sending)
      else if (!has('never-switch')) this.#out.rekey(derive(sending))
      this.#sentSinceSwitch = 0
      this.#rekey = { name: 'responded', derive }
    } else if (message.type === RESPONSE) {
      if (state.name !== 'requested') throw new Violation('response to no request')
      const initiatorKey = state.ephemeral.publicKey
      const shared = agree(state.ephemeral.secretKey, message.publicKey)
      this.#in.rekey((key) => nextKeys(receiving, key, shared, initiatorKey, message.publicKey))
      if (!this.closed) {
        this.#seal(controlBody(SWITCH), CONTROL_FLAG)
        this.#out.rekey((key) => nextKeys(sending, key, shared, initiatorKey, message.publicKey))
        this.#sentSinceSwitch = 0
      }
      this.#rekey = { name: 'idle' }
    } else {
      if (state.name !== 'responded') throw new Violation('switch with no rekey')
      if (!has('never-switch')) this.#in.rekey(state.derive(receiving))
      this.#rekey = { name: 'idle' }
    }
  }
}

function agree (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return diffieHellman(secretKey, publicKey)
  } catch (err) {
    throw new Violation(`low-order rekey key: ${String(err)}`)
  }
}

async function exactly (reader: Reader, length: number): Promise<Buffer> {
  const bytes = await reader.read(length)
  if (bytes === undefined) throw new Violation('the connection ended')
  return bytes
}

async function expect (reader: Reader, length: number, accept: (message: Uint8Array) => boolean): Promise<void> {
  if (!accept(await exactly(reader, length))) throw new Violation('bad handshake message')
}

async function handshake (socket: net.Socket, reader: Reader): Promise<Session> {
  if (role === 'server') {
    const state = createHandshakeState({ local: keys, networkKey, rekey: { role: 'server', acceptPlain: true } })
    await expect(reader, HELLO_BYTES, (message) => acceptHello(state, message))
    socket.write(createHello(state))
    await expect(reader, CLIENT_AUTH_BYTES, (message) => acceptClientAuth(state, message))
    socket.write(createServerAccept(state))
    return new Session(socket, deriveSession(state))
  }
  const remote = checkPublicKey(Buffer.from(env('SHS_CONFORMANCE_SERVER_KEY'), 'base64'), 'server key')
  const state = createHandshakeState({ local: keys, networkKey, rekey: { role: 'client' }, remotePublicKey: remote.publicKey, remoteCurveKey: remote.curveKey })
  socket.write(createHello(state))
  await expect(reader, HELLO_BYTES, (message) => acceptHello(state, message))
  socket.write(createClientAuth(state))
  await expect(reader, SERVER_ACCEPT_BYTES, (message) => acceptServerAccept(state, message))
  return new Session(socket, deriveSession(state))
}

async function serve (socket: net.Socket): Promise<void> {
  const reader = new Reader(socket)
  const session = await handshake(socket, reader)
  for await (const plaintext of session.packets(reader)) session.data(plaintext)
  session.goodbye()
  socket.end()
}

async function connect (socket: net.Socket): Promise<void> {
  const reader = new Reader(socket)
  const session = await handshake(socket, reader)
  const sent = new Promise<void>((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => { if (!session.closed) session.data(chunk) })
    process.stdin.on('end', () => { session.goodbye(); resolve() })
  })
  for await (const plaintext of session.packets(reader)) process.stdout.write(plaintext)
  await sent
  socket.end()
  process.stdout.write('', () => { process.exit(0) })
}

function failed (socket: net.Socket, err: unknown): void {
  if (!(err instanceof Violation)) throw err
  socket.destroy()
  if (role === 'client') process.exit(3)
}

start(role, role === 'server' ? serve : connect, failed)
