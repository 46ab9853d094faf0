/**
 * A deliberately broken SHS peer for the conformance mutant gallery, run as a command under
 * `shs conformance`:  node mutant-peer.ts server|client [FLAW...]
 * It is built on the library's sans-IO handshake steps and box-stream encoder; each FLAW bends
 * exactly one rule, so that the conformance check guarding that rule must fail it. With no flaw
 * it is a correct echo server or netcat-like client (see the gallery's baseline test).
 */
import net from 'node:net'
import sodium from 'sodium-native'
import { BoxStreamEncoder } from '../../../src/boxstream/encoder.ts'
import { incrementNonce } from '../../../src/boxstream/nonce.ts'
import { checkPublicKey, toCurveSecretKey } from '../../../src/crypto/keys.ts'
import { concatBytes, copyBytes, diffieHellman, openOnce, sha256, verifyHmac, verifySignature } from '../../../src/crypto/primitives.ts'
import {
  CLIENT_AUTH_BYTES, HELLO_BYTES, type HandshakeState, SERVER_ACCEPT_BYTES, acceptClientAuth, acceptHello,
  acceptServerAccept, createClientAuth, createHandshakeState, createHello, createServerAccept, deriveSession
} from '../../../src/handshake/steps.ts'
import { CRASH_FLAWS, type CrashFlaw, crash, panicOnOversized } from './mutant-crash.ts'
import { Reader, env, identity, start } from './mutant-io.ts'

const FLAWS = [
  'skip-hello-mac', 'accept-any-signature', 'small-order', 'ignore-box-macs', 'accept-oversized',
  'never-time-out', 'echo-after-goodbye', ...CRASH_FLAWS,
  // Refusals that never end the connection, and two client mistakes.
  'never-hang-up', 'clean-on-cut', 'no-half-close',
  // A server that answers a small-order hello but refuses at message 3 (safe, a warning), or says something there.
  'small-order-late', 'small-order-leak',
  // A reader that panics on a header announcing more than 4096 bytes.
  'panic-on-oversized'
] as const
type Flaw = typeof FLAWS[number]

const [role, ...flawNames] = process.argv.slice(2)
const unknown = flawNames.filter((name) => !(FLAWS as readonly string[]).includes(name))
if (unknown.length > 0) throw new Error(`unknown flaw ${unknown.join(', ')}; known: ${FLAWS.join(', ')}`)
const flaws = new Set(flawNames)
const has = (flaw: Flaw): boolean => flaws.has(flaw)
/** Short, so the gallery's stall checks (with a longer limit) stay fast. */
const HANDSHAKE_TIMEOUT_MS = Number(process.env.MUTANT_HANDSHAKE_TIMEOUT_MS ?? 300)
const HEADER_BYTES = 34
const MAC_BYTES = 16
const MAX_BODY_BYTES = 4096
const ZEROS = new Uint8Array(32)

const { keys, networkKey } = identity()

/** The peer sent something invalid (what crash-on-bad-message crashes on). */
class BadMessage extends Error {}
/** The connection ended or timed out before a whole message came. */
class Ended extends Error {}

function tryDiffieHellman (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
  try {
    return diffieHellman(secretKey, publicKey)
  } catch {
    // A peer that "computes with" a small-order point gets the all-zero secret libsodium refused.
    return has('small-order') ? new Uint8Array(ZEROS) : undefined
  }
}

/** small-order-late/-leak: a hello with a valid MAC is answered, its key kept for message 3, where DH refuses it. */
function lateAcceptHello (state: HandshakeState, message: Uint8Array): boolean {
  if (acceptHello(state, message)) return true
  const mac = message.subarray(0, 32)
  const ephemeral = message.subarray(32, HELLO_BYTES)
  if (!verifyHmac(mac, ephemeral, state.networkKey)) return false
  state.remoteEphemeralKey = copyBytes(ephemeral)
  state.remoteHelloMac = copyBytes(mac)
  state.ab = new Uint8Array(ZEROS)
  state.abHash = sha256(state.ab)
  return true
}

function flawedAcceptHello (state: HandshakeState, message: Uint8Array): boolean {
  if (role === 'server' && (has('small-order-late') || has('small-order-leak'))) return lateAcceptHello(state, message)
  if (!has('skip-hello-mac') && !has('small-order')) return acceptHello(state, message)
  const mac = message.subarray(0, 32)
  const ephemeral = message.subarray(32, HELLO_BYTES)
  if (!has('skip-hello-mac') && !verifyHmac(mac, ephemeral, state.networkKey)) return false
  const ab = tryDiffieHellman(state.ephemeral.secretKey, ephemeral)
  if (ab === undefined) return false
  state.remoteEphemeralKey = copyBytes(ephemeral)
  state.remoteHelloMac = copyBytes(mac)
  state.ab = ab
  state.abHash = sha256(ab)
  return true
}

/** Message 3 without its signature checked (accept-any-signature), or computed with a small-order key (small-order). */
function flawedAcceptClientAuth (state: HandshakeState, message: Uint8Array): boolean {
  if (!has('accept-any-signature') && !has('small-order')) return acceptClientAuth(state, message)
  const aB = tryDiffieHellman(toCurveSecretKey(state.local), state.remoteEphemeralKey as Uint8Array)
  if (aB === undefined) return false
  state.aB = aB
  const payload = openOnce(sha256(state.networkKey, state.ab as Uint8Array, aB), message)
  if (payload === undefined) return false
  const signed = concatBytes(state.networkKey, state.local.publicKey, state.abHash as Uint8Array)
  if (!has('accept-any-signature') && !verifySignature(payload.subarray(0, 64), signed, payload.subarray(64))) return false
  let remote
  try {
    remote = checkPublicKey(copyBytes(payload.subarray(64)), 'client key')
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

/** Message 4 opened, its signature not checked. */
function flawedAcceptServerAccept (state: HandshakeState, message: Uint8Array): boolean {
  if (!has('accept-any-signature')) return acceptServerAccept(state, message)
  const Ab = tryDiffieHellman(toCurveSecretKey(state.local), state.remoteEphemeralKey as Uint8Array)
  if (Ab === undefined) return false
  state.Ab = Ab
  const key = sha256(state.networkKey, state.ab as Uint8Array, state.aB as Uint8Array, Ab)
  return openOnce(key, message) !== undefined
}

async function expect (reader: Reader, length: number, accept: (message: Uint8Array) => boolean): Promise<void> {
  const message = await reader.read(length)
  if (message === undefined) throw new Ended('the connection ended during the handshake')
  if (!accept(message)) throw new BadMessage('bad handshake message')
}

async function handshake (socket: net.Socket, reader: Reader): Promise<ReturnType<typeof deriveSession>> {
  const timer = has('never-time-out') || has('never-hang-up') ? undefined : setTimeout(() => { socket.destroy() }, HANDSHAKE_TIMEOUT_MS)
  try {
    if (role === 'server') {
      const state = createHandshakeState({ local: keys, networkKey })
      await expect(reader, HELLO_BYTES, (message) => flawedAcceptHello(state, message))
      socket.write(createHello(state))
      await expect(reader, CLIENT_AUTH_BYTES, (message) => flawedAcceptClientAuth(state, message))
      socket.write(createServerAccept(state))
      return deriveSession(state)
    }
    const remote = checkPublicKey(Buffer.from(env('SHS_CONFORMANCE_SERVER_KEY'), 'base64'), 'server key')
    const state = createHandshakeState({ local: keys, networkKey, remotePublicKey: remote.publicKey, remoteCurveKey: remote.curveKey })
    socket.write(createHello(state))
    await expect(reader, HELLO_BYTES, (message) => flawedAcceptHello(state, message))
    socket.write(createClientAuth(state))
    await expect(reader, SERVER_ACCEPT_BYTES, (message) => flawedAcceptServerAccept(state, message))
    return deriveSession(state)
  } finally {
    clearTimeout(timer)
  }
}

/** The raw XSalsa20 keystream under secretbox; the project's typings leave it out on purpose. */
const xsalsa20 = (sodium as unknown as { crypto_stream: (out: Uint8Array, nonce: Uint8Array, key: Uint8Array) => void }).crypto_stream

/** secretbox_open, or with ignore-box-macs just the decryption, MAC unchecked. */
function open (plaintext: Buffer, mac: Uint8Array, ciphertext: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean {
  if (!has('ignore-box-macs')) return sodium.crypto_secretbox_open_detached(plaintext, ciphertext, mac, nonce, key)
  const stream = Buffer.alloc(32 + ciphertext.byteLength)
  xsalsa20(stream, nonce, key)
  for (let i = 0; i < ciphertext.byteLength; i++) plaintext[i] = (ciphertext[i] as number) ^ (stream[32 + i] as number)
  return true
}

/** With clean-on-cut: the stream ended without goodbye, and we took that for one. */
let cutTakenForGoodbye = false

/** The peer's box stream, packet by packet, until goodbye (and on past it, with echo-after-goodbye). */
async function * packets (reader: Reader, key: Uint8Array, nonce: Uint8Array): AsyncGenerator<Buffer> {
  for (;;) {
    const sealed = await reader.read(HEADER_BYTES)
    if (sealed === undefined) {
      if (has('clean-on-cut')) {
        cutTakenForGoodbye = true
        return
      }
      throw new Ended('cut without goodbye')
    }
    const header = Buffer.alloc(HEADER_BYTES - MAC_BYTES)
    if (!open(header, sealed.subarray(0, MAC_BYTES), sealed.subarray(MAC_BYTES), nonce, key)) throw new BadMessage('bad header')
    incrementNonce(nonce)
    if (header.every((byte) => byte === 0)) {
      if (has('echo-after-goodbye')) continue
      return
    }
    const length = header.readUInt16BE(0)
    if (length > MAX_BODY_BYTES && has('panic-on-oversized')) panicOnOversized(length)
    if (length > MAX_BODY_BYTES && !has('accept-oversized')) throw new BadMessage('oversized')
    const body = await reader.read(length)
    if (body === undefined) throw new Ended('cut in a body')
    const plaintext = Buffer.alloc(length)
    if (!open(plaintext, header.subarray(2), body, nonce, key)) throw new BadMessage('bad body')
    incrementNonce(nonce)
    yield plaintext
  }
}

async function serve (socket: net.Socket): Promise<void> {
  const reader = new Reader(socket)
  const session = await handshake(socket, reader)
  const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
  for await (const plaintext of packets(reader, session.decryptKey, Buffer.from(session.decryptNonce))) {
    socket.write(encoder.encode(plaintext))
  }
  socket.write(encoder.goodbye())
  socket.end()
}

async function connect (socket: net.Socket): Promise<void> {
  const reader = new Reader(socket)
  const session = await handshake(socket, reader)
  const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
  const sent = new Promise<void>((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => { socket.write(encoder.encode(chunk)) })
    process.stdin.on('end', () => { socket.write(encoder.goodbye()); resolve() })
  })
  for await (const plaintext of packets(reader, session.decryptKey, Buffer.from(session.decryptNonce))) process.stdout.write(plaintext)
  // no-half-close: the server's goodbye ends everything, whatever we still had to send.
  // clean-on-cut: the connection is gone, so there is nothing left to send either.
  if (!has('no-half-close') && !cutTakenForGoodbye) await sent
  socket.end()
  process.stdout.write('', () => { process.exit(0) })
}

function failed (socket: net.Socket, err: unknown): void {
  if (!(err instanceof BadMessage) && !(err instanceof Ended)) throw err
  const crashFlaw = CRASH_FLAWS.find((flaw: CrashFlaw) => has(flaw))
  if (err instanceof BadMessage && crashFlaw !== undefined && !crash(crashFlaw)) return
  // never-hang-up: refuses by going silent, and leaves the connection (and the process) open.
  if (has('never-hang-up')) {
    // Reading the input the runner holds open keeps a client process alive.
    process.stdin.resume()
    return
  }
  // small-order-leak: an error report in plaintext before the hang-up.
  if (err instanceof BadMessage && has('small-order-leak')) socket.end('handshake failed\n')
  else socket.destroy()
  if (role === 'client') process.exit(3)
}

start(role, role === 'server' ? serve : connect, failed)
